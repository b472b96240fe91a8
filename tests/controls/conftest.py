import pytest

from aisystems.services import system_create
from controls import library
from controls.models import Control
from tests.aisystems.conftest import system_data


@pytest.fixture
def controls(db):
    library.load()
    return {f"{c.framework.key} {c.ref}": c for c in Control.objects.select_related("framework")}


@pytest.fixture
def system(scientist, model, version):
    return system_create(
        actor=scientist, data=system_data(), registered_models=[model], versions=[version]
    )
