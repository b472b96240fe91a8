from django.core.exceptions import ValidationError

# The tasks the services queue, by registered name: registry.tasks imports the services,
# so the services never import it back (core.dispatch.job_queue takes a name).
SCAN_VERSION_TASK = "registry.tasks.scan_version_artifacts"
PURGE_PREFIX_TASK = "registry.tasks.purge_storage_prefix"


def parse_tags(text: str) -> dict[str, str]:
    """'key=value, other' (commas or new lines) into {'key': 'value', 'other': ''}."""
    tags: dict[str, str] = {}
    for item in (text or "").replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        key = key.strip()
        if not key:
            raise ValidationError(f"Tag {item!r} has no key.")
        if len(key) > 250:
            raise ValidationError(f"Tag key {key[:20]!r}... is longer than 250 characters.")
        tags[key] = value.strip()
    return tags


def tags_text(tags) -> str:
    return ", ".join(f"{t.key}={t.value}" if t.value else t.key for t in tags)


def model_snapshot(registered_model) -> dict:
    return {
        "name": registered_model.name,
        "description": registered_model.description,
        "team": registered_model.team.name,
        "risk_class": registered_model.risk_class,
        "tags": {t.key: t.value for t in registered_model.tags.all()},
    }


def version_ref(version) -> dict:
    """How an audit event names a version (model, number, stage): one shape everywhere."""
    return {
        "model": version.registered_model.name,
        "version": version.version,
        "stage": version.stage,
    }
