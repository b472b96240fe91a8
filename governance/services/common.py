from django.core.exceptions import ValidationError


def required_text(value: str, what: str, *, field: str = "reason") -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"{what} is required."})
    return value


def group_names(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def version_ref(version) -> dict:
    return {
        "model": version.registered_model.name,
        "version": version.version,
        "stage": version.stage,
    }
