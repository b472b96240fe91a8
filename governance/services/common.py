from django.core.exceptions import ValidationError

from registry.services.common import version_ref

__all__ = ["group_names", "required_text", "version_ref"]


def required_text(value: str, what: str, *, field: str = "reason") -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"{what} is required."})
    return value


def group_names(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))
