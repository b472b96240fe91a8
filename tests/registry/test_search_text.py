"""The one way the search text is kept (registry.search.search_text_refresh): appended to
for a new version or a new tag, rebuilt when something is changed or removed, and always
holding the same words a rebuild from the rows would."""

from governance.request_context import audit_context
from registry import selectors
from registry.models import RegisteredModel
from registry.search import _words, build_search_text
from registry.services.mlflow_support import version_tag_delete, version_tag_set
from tests.factories import make_model, make_version


def stored(model) -> str:
    return RegisteredModel.objects.values_list("search_text", flat=True).get(pk=model.pk)


def found(user, query) -> set[str]:
    return {m.name for m in selectors.model_search(user, q=query)}


def test_new_versions_append_their_words_and_match_a_rebuild(scientist, team):
    model = make_model(scientist, name="ledger-model", team=team)
    make_version(scientist, model, lineage={"framework": "xgboost"}, tags={"batch": "alpha"})
    make_version(scientist, model, lineage={"dataset_name": "ledger-2026"}, tags={"batch": "b7"})
    make_version(scientist, model, lineage={"framework": "xgboost"}, tags={"batch": "alpha"})
    model.refresh_from_db()
    text = stored(model)
    assert _words(text) == _words(build_search_text(model))
    # Nothing is repeated: the third version added no word the text lacked.
    assert text.count("xgboost") == 1 and text.count("alpha") == 1
    assert found(scientist, "ledger-2026") == {"ledger-model"}
    assert found(scientist, "b7") == {"ledger-model"}


def test_a_version_adding_no_new_word_leaves_the_text_as_it_was(scientist, team):
    model = make_model(scientist, name="steady", team=team)
    make_version(scientist, model, lineage={"framework": "sklearn"}, tags={"k": "v"})
    before = stored(model)
    version = make_version(scientist, model, lineage={"framework": "sklearn"}, tags={"k": "v"})
    assert stored(model) == before
    model.refresh_from_db()
    assert model.latest_version_number == version.version == 2


def test_a_replaced_tag_value_no_version_holds_any_more_is_no_longer_found(scientist, team):
    model = make_model(scientist, name="tagged", team=team)
    version = make_version(scientist, model, tags={"owner": "zanzibar"})
    version.registered_model = model
    with audit_context(source="cli"):
        version_tag_set(actor=scientist, version=version, key="owner", value="quokka")
    assert found(scientist, "quokka") == {"tagged"}
    assert found(scientist, "zanzibar") == set()
    model.refresh_from_db()
    assert _words(stored(model)) == _words(build_search_text(model))


def test_a_replaced_value_another_version_still_holds_stays_found(scientist, team):
    model = make_model(scientist, name="shared-tags", team=team)
    make_version(scientist, model, tags={"owner": "zanzibar"})
    second = make_version(scientist, model, tags={"owner": "zanzibar"})
    second.registered_model = model
    with audit_context(source="cli"):
        version_tag_set(actor=scientist, version=second, key="owner", value="quokka")
    assert found(scientist, "zanzibar") == {"shared-tags"}
    assert found(scientist, "quokka") == {"shared-tags"}


def test_a_deleted_tag_is_no_longer_found(scientist, team):
    model = make_model(scientist, name="untagged", team=team)
    version = make_version(scientist, model, tags={"colour": "heliotrope"})
    version.registered_model = model
    assert found(scientist, "heliotrope") == {"untagged"}
    with audit_context(source="cli"):
        version_tag_delete(actor=scientist, version=version, key="colour")
    assert found(scientist, "heliotrope") == set()
