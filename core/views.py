"""The one shape of a form view: bind the form, call the service, show its refusal beside
the field, or say what happened and go on. Subclasses declare; they do not repeat it.

    class ModelEdit(ObjectPermissionMixin, ServiceFormView):
        queryset = RegisteredModel.objects.all()
        action = "change"
        form_class = ModelEditForm
        template_name = "registry/model_edit.html"
        success_message = "Saved {result.name}."

        def perform(self, form):
            return model_update(actor=self.request.user, registered_model=self.object,
                                **form.cleaned_data)

GET renders the unbound form (200; through `render_htmx` when `partial_template_name` is
set). POST binds it; an invalid form, or a service error (`apply_service_error`), renders
the page again with everything the user typed and status 400; success adds the message and
redirects to `get_success_url(result)` (the result's own page by default)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.views import View

from core.forms import apply_service_error, is_service_error
from core.web import render_htmx


class ServiceFormView(View):
    http_method_names = ["get", "post"]
    form_class = None
    template_name: str = ""
    # For a page htmx refreshes in part (a list beside the form): GET answers htmx
    # requests with this partial. Form posts always get the whole page back.
    partial_template_name: str = ""
    # `str.format`ted with `result` (what `perform` returned), `data` (the cleaned data)
    # and `view`; empty for no message.
    success_message: str = ""
    # A URL, or a URL name without arguments; empty: the result's get_absolute_url().
    success_url: str = ""
    # The errors `perform` may raise that are shown on the form (and any exception with a
    # `field` attribute); the field a refusal without one lands on (None: the whole form).
    service_errors: tuple = (ValidationError,)
    error_field: str | None = None
    invalid_status = 400

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        self.prepare()
        return super().dispatch(request, *args, **kwargs)

    def prepare(self) -> None:
        """Runs before `get`/`post`, after the method is allowed: fetch the object, check
        the permission (ObjectPermissionMixin does both)."""

    # --- the form --------------------------------------------------------------------

    def get_initial(self) -> dict:
        return {}

    def get_form_kwargs(self) -> dict:
        kwargs = {"initial": self.get_initial()}
        if self.request.method == "POST":
            kwargs.update(data=self.request.POST, files=self.request.FILES)
        return kwargs

    def get_form(self):
        return self.form_class(**self.get_form_kwargs())

    # --- rendering -------------------------------------------------------------------

    def get_context_data(self, **kwargs) -> dict:
        return kwargs

    def render_form(self, form, *, status: int = 200, **extra):
        context = self.get_context_data(form=form, **extra)
        if self.partial_template_name and self.request.method == "GET":
            return render_htmx(
                self.request, self.template_name, self.partial_template_name, context, status
            )
        return render(self.request, self.template_name, context, status=status)

    # --- the flow --------------------------------------------------------------------

    def get(self, request, *args, **kwargs):
        return self.render_form(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            return self.form_invalid(form)
        return self.form_valid(form)

    def perform(self, form):
        """Call the service with the cleaned data; return what it made."""
        raise NotImplementedError

    def form_valid(self, form):
        try:
            result = self.perform(form)
        except Exception as exc:
            if not is_service_error(exc, self.service_errors):
                raise
            self.service_error(form, exc)
            return self.form_invalid(form)
        return self.succeeded(form, result)

    def service_error(self, form, exc) -> None:
        apply_service_error(form, exc, field=self.error_field)

    def form_invalid(self, form):
        return self.render_form(form, status=self.invalid_status)

    def succeeded(self, form, result):
        message = self.get_success_message(form, result)
        if message:
            messages.add_message(self.request, self.get_message_level(result), message)
        return redirect(self.get_success_url(result))

    def get_message_level(self, result) -> int:
        """The banner's level: success unless the outcome is not one (a rejection)."""
        return messages.SUCCESS

    def get_success_message(self, form, result) -> str:
        if not self.success_message:
            return ""
        return self.success_message.format(result=result, data=form.cleaned_data, view=self)

    def get_success_url(self, result) -> str:
        if self.success_url:
            return resolve_url(self.success_url)
        return result.get_absolute_url()
