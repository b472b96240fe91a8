"""The shape every form view shares (issue #16): `core.forms.apply_service_error`,
`core.views.ServiceFormView` and `governance.object_permissions`."""

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from core.forms import apply_service_error
from core.views import ServiceFormView
from governance.object_permissions import guarded_object, object_for
from registry.models import ModelVersion
from tests.conftest import client_for


class NameForm(forms.Form):
    name = forms.CharField()
    description = forms.CharField(required=False)


class NameTaken(Exception):
    """A typed service error that is not a ValidationError, naming its field."""

    field = "name"


class NameTakenError(ValidationError):
    """The same as a ValidationError subclass (the form r-rules' ModelNameTaken may take)."""

    def __init__(self, message):
        super().__init__(message)
        self.field = "name"


def _bound(**data):
    form = NameForm({"name": "fraud", "description": "typed", **data})
    assert form.is_valid()
    return form


@pytest.mark.parametrize(
    "exc", [NameTaken("That name is taken."), NameTakenError("That name is taken.")]
)
def test_a_typed_error_lands_beside_the_field_it_names(exc):
    form = _bound()
    apply_service_error(form, exc)
    assert form.errors == {"name": ["That name is taken."]}


def test_a_dict_of_fields_lands_per_field_and_the_rest_on_the_fallback():
    form = _bound()
    exc = ValidationError({"name": "Too short.", "team": "Not your team."})
    apply_service_error(form, exc, field="description")
    assert form.errors == {"name": ["Too short."], "description": ["Not your team."]}


def test_a_field_the_form_does_not_have_becomes_a_form_error_not_a_crash():
    form = _bound()
    exc = NameTaken("Gone.")
    exc.field = "no_such_field"
    apply_service_error(form, exc)
    apply_service_error(form, ValidationError("Also gone."), field="another_missing_one")
    assert form.non_field_errors() == ["Gone.", "Also gone."]


def test_a_plain_refusal_is_a_form_error():
    form = _bound()
    apply_service_error(form, ValidationError("The request was decided already."))
    assert form.errors == {"__all__": ["The request was decided already."]}


class _Echo(ServiceFormView):
    """A form view whose service raises what the test says; the page is the form."""

    form_class = NameForm
    success_url = "/done/"
    success_message = ""
    raises: BaseException | None = None

    def perform(self, form):
        if self.raises is not None:
            raise self.raises
        return None

    def render_form(self, form, *, status=200, **extra):
        return HttpResponse(form.as_p(), status=status)


def _post(view_cls, data):
    request = RequestFactory().post("/echo/", data)
    return view_cls.as_view()(request)


def test_a_service_error_renders_the_form_again_with_the_input_and_400():
    class View(_Echo):
        raises = NameTaken("That name is taken.")

    response = _post(View, {"name": "fraud", "description": "what I typed"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That name is taken." in html
    assert "what I typed" in html and 'value="fraud"' in html


def test_an_error_that_is_not_a_refusal_is_not_swallowed():
    class View(_Echo):
        raises = RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        _post(View, {"name": "fraud"})


def test_success_redirects():
    response = _post(_Echo, {"name": "fraud"})
    assert response.status_code == 302 and response["Location"] == "/done/"


@pytest.mark.parametrize("method", ["put", "head", "delete"])
def test_a_method_the_view_does_not_take_is_405_before_the_object_is_looked_up(
    method, model, other_scientist
):
    """No fetch, no 404 or 403: a method the view refuses says nothing about the object."""
    url = reverse("registry:model-edit", args=[model.name])
    assert getattr(client_for(other_scientist), method)(url).status_code == 405


def test_object_for_is_404_out_of_scope_403_read_only_and_the_object_otherwise(
    version, scientist, viewer, other_scientist
):
    versions = ModelVersion.objects.select_related("registered_model")
    lookup = {"registered_model__name": version.registered_model.name, "version": version.version}
    with pytest.raises(Http404):
        object_for(other_scientist, versions, "view", **lookup)
    assert object_for(viewer, versions, "view", **lookup) == version
    with pytest.raises(PermissionDenied):
        object_for(viewer, versions, "change", **lookup)
    found = object_for(scientist, versions, "change", **lookup)
    assert found == version
    assert guarded_object(found) == version.registered_model
    assert guarded_object(version.registered_model) == version.registered_model
