import pytest

from aisystems.services import system_create

BASE = {
    "name": "credit-decisions",
    "intended_purpose": "Score applicants' creditworthiness for consumer loans.",
    "provider_name": "Attest Bank SA",
    "provider_address": "1 Rue du Test, Luxembourg",
}


def system_data(**changes) -> dict:
    return {**BASE, **changes}


@pytest.fixture
def system(scientist, model):
    """dana's system, built from her model (vic views it, tom changes it via the team)."""
    return system_create(actor=scientist, data=system_data(), registered_models=[model])
