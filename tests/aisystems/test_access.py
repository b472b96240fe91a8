"""Who sees and changes an AI system: decided by its member models' grants, never without
one (attacker: a governed user reading or changing another team's records)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from aisystems.models import AISystem
from aisystems.services import system_create, system_update
from governance import access
from tests.aisystems.conftest import system_data
from tests.conftest import client_for
from tests.factories import make_model

pytestmark = pytest.mark.django_db


def _visible(user, action="view"):
    return set(AISystem.objects.restrict(user, action).values_list("name", flat=True))


def test_a_system_is_seen_through_its_models(
    system, scientist, viewer, other_scientist, auditor, registry_admin, team_member
):
    assert _visible(scientist) == {"credit-decisions"}
    assert _visible(viewer) == {"credit-decisions"}
    assert _visible(team_member) == {"credit-decisions"}
    assert _visible(auditor) == {"credit-decisions"}  # model-wide view
    assert _visible(registry_admin) == {"credit-decisions"}
    assert _visible(other_scientist) == set()


def test_change_needs_change_on_every_member(system, scientist, viewer, other_scientist):
    assert _visible(scientist, "change") == {"credit-decisions"}
    assert _visible(viewer, "change") == set()
    # olga's own model joins the system (she can change it, dana cannot): now nobody holds
    # change on every member, so nobody changes the system.
    theirs = make_model(other_scientist, name="olga-model")
    access.grant(theirs, "view", user=scientist)
    system.memberships.create(registered_model=theirs)
    assert _visible(scientist, "change") == set()
    assert _visible(other_scientist, "change") == set()
    assert _visible(other_scientist) == {"credit-decisions"}  # she sees it through her model


def test_auditors_write_nothing_even_as_owner(auditor, system):
    assert _visible(auditor, "change") == set()
    AISystem.objects.filter(pk=system.pk).update(owner=auditor)
    assert _visible(auditor, "change") == set()


def test_a_system_without_models_is_its_owners_only(scientist, other_scientist, registry_admin):
    system_create(actor=scientist, data=system_data(name="empty"))
    assert _visible(scientist) == {"empty"}
    assert _visible(scientist, "change") == {"empty"}
    assert _visible(other_scientist) == set()
    assert _visible(registry_admin) == set()  # no model, no rule: not even admins


def test_inactive_and_anonymous_see_nothing(system, scientist):
    from django.contrib.auth.models import AnonymousUser

    assert _visible(AnonymousUser()) == set()
    scientist.is_active = False
    assert _visible(scientist) == set()


def test_a_stranger_gets_404_and_a_viewer_403(system, other_scientist, viewer):
    url = system.get_absolute_url()
    assert client_for(other_scientist).get(url).status_code == 404
    assert client_for(viewer).get(url).status_code == 200
    assert client_for(viewer).get(f"{url}edit/").status_code == 403
    assert client_for(other_scientist).get(f"{url}edit/").status_code == 404
    with pytest.raises(Http404):
        system_update(actor=other_scientist, system=system, data={"hardware": "x"})
    with pytest.raises(PermissionDenied):
        system_update(actor=viewer, system=system, data={"hardware": "x"})


def test_adding_a_model_one_cannot_change_is_refused(scientist, other_scientist, system):
    """A governed user cannot pull another team's model into their system (and so push
    their system's risk class onto it)."""
    theirs = make_model(other_scientist, name="olga-model")
    access.grant(theirs, "view", user=scientist)
    with pytest.raises(ValidationError) as exc:
        system_update(
            actor=scientist,
            system=system,
            data={},
            registered_models=[system.registered_models.get(), theirs],
        )
    assert "registered_models" in exc.value.message_dict
    assert list(system.registered_models.values_list("name", flat=True)) == ["fraud-detector"]


def test_the_list_shows_only_visible_systems(system, scientist, other_scientist):
    system_create(actor=other_scientist, data=system_data(name="olga-system"))
    page = client_for(scientist).get("/ai-systems/").content.decode()
    assert "credit-decisions" in page and "olga-system" not in page
    page = client_for(other_scientist).get("/ai-systems/").content.decode()
    assert "olga-system" in page and "credit-decisions" not in page


def test_nobody_approves_for_a_system_without_models(scientist):
    """Approving (an incident report) needs approve on real models: an owner cannot
    approve for an empty system of their own."""
    system_create(actor=scientist, data=system_data(name="empty"))
    assert _visible(scientist, "approve") == set()
