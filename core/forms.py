"""Service errors on forms: the one way a view shows what a service refused."""

from django.core.exceptions import ValidationError


def is_service_error(exc: BaseException, expected: tuple = (ValidationError,)) -> bool:
    """A refusal the user can act on: one of `expected`, or any exception that names the
    form field it is about (a typed service error such as `ModelNameTaken` carries
    `field`)."""
    return isinstance(exc, expected) or hasattr(exc, "field")


def apply_service_error(form, exc: BaseException, *, field: str | None = None) -> None:
    """Show a service's refusal on `form`, beside the field it is about.

    - A ValidationError with a dict of fields: each message beside its field when the
      form has it, the rest on `field` (or the whole form).
    - An exception with a `field` attribute (a typed service error): beside that field
      when the form has it. Its message is `messages` (a ValidationError) or `str(exc)`.
    - Anything else: beside `field`, or as a non-field error when `field` is None.

    A field the form does not have never raises: the message becomes a non-field error,
    so a service that names a new field cannot turn a refusal into a 500."""
    named = getattr(exc, "field", None) or field
    target = named if named in form.fields else None
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                form.add_error(name if name in form.fields else target, errors)
        else:
            form.add_error(target, exc)
    else:
        form.add_error(target, str(exc))
