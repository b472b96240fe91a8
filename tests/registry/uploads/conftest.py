"""The upload tests' clients: the model's owner (raising, and answering as a server would) and
a viewer.
"""

import pytest

from tests.conftest import client_for


@pytest.fixture
def client(scientist):
    return client_for(scientist)


@pytest.fixture
def quiet_client(scientist):
    """Answers with the response a server would send instead of raising the view's error."""
    client = client_for(scientist)
    client.raise_request_exception = False
    return client


@pytest.fixture
def viewer_client(viewer):
    client = client_for(viewer)
    client.raise_request_exception = False
    return client
