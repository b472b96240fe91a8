from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from governance import access, audit
from registry.models import ModelTag, RegisteredModel
from registry.search import search_text_refresh
from registry.services.common import model_snapshot

CREATOR_ACTIONS = ("view", "change", "manage")


class ModelNameTaken(ValidationError):
    """Another registered model has this name, without regard to case. A ValidationError
    on the `name` field (a form shows it there); the API answers RESOURCE_ALREADY_EXISTS."""

    def __init__(self, name: str):
        self.taken = name
        super().__init__(
            {"name": ValidationError(f"A model named {name!r} already exists.", code="taken")}
        )


def _is_name_clash(exc: IntegrityError) -> bool:
    """Whether the insert or update failed on one of the name's unique indexes (case-blind
    or exact); PostgreSQL and SQLite both name the index or column in the message."""
    message = str(exc).lower()
    return "unique" in message and "name" in message


def save_name(model: RegisteredModel, **save_kwargs) -> None:
    """Save `model` (a new one, or its new name) inside the caller's transaction, with the
    database deciding whether the name is free: a clash (also with a creation committed a
    moment ago) raises ModelNameTaken, the savepoint undoes the failed statement and the
    caller's transaction stays usable."""
    try:
        with transaction.atomic():
            model.save(**save_kwargs)
    except IntegrityError as exc:
        if not _is_name_clash(exc):
            raise
        raise ModelNameTaken(model.name) from exc


TEAM_ACTIONS = ("view", "change")


def can_register_models(user) -> bool:
    return (
        user.is_authenticated
        and not access.is_auditor(user)
        and user.has_perm("registry.add_registeredmodel")
    )


def teams_for(user):
    """Groups a user may name as a model's owning team: their own, not the role groups."""
    groups = Group.objects.exclude(name__in=access.SYSTEM_GROUPS).order_by("name")
    return groups if access.is_registry_admin(user) else groups.filter(user=user)


def default_approver_groups() -> list[Group]:
    """The groups (ATTEST_DEFAULT_APPROVER_GROUPS, by default Approvers and Compliance)
    granted approve on every new model; ones that do not exist yet are skipped."""
    names = settings.ATTEST_DEFAULT_APPROVER_GROUPS
    return list(Group.objects.filter(name__in=names).order_by("name")) if names else []


def model_create(
    *, actor, name: str, team: Group, description: str = "", tags: dict | None = None
) -> RegisteredModel:
    if not can_register_models(actor):
        raise PermissionDenied("You may not register models.")
    if not teams_for(actor).filter(pk=team.pk).exists():
        raise ValidationError({"team": "You can only register models for a team you belong to."})
    with transaction.atomic():
        model = RegisteredModel(name=name, description=description, team=team, created_by=actor)
        # Field checks here; whether the name is free is the database's to say (save_name).
        model.full_clean(validate_unique=False, validate_constraints=False)
        save_name(model)
        ModelTag.objects.bulk_create(
            ModelTag(registered_model=model, key=k, value=v) for k, v in (tags or {}).items()
        )
        for action in CREATOR_ACTIONS:
            access.grant(model, action, user=actor)
        for action in TEAM_ACTIONS:
            access.grant(model, action, group=team)
        grants = {actor.get_username(): list(CREATOR_ACTIONS), team.name: list(TEAM_ACTIONS)}
        # Granted by the system, not by the creator: the model has deciders from the start.
        for group in default_approver_groups():
            access.grant(model, "approve", group=group)
            grants[group.name] = ["approve"]
        search_text_refresh(model)
        after = model_snapshot(model) | {"grants": grants}
        audit.record(
            actor=actor,
            action="model.create",
            target=model,
            after=after,
            registered_model_id=model.pk,
        )
    return model


def model_update(
    *, actor, registered_model: RegisteredModel, description: str, tags: dict
) -> RegisteredModel:
    access.require(actor, registered_model, "change")
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        before = model_snapshot(model)
        model.description = description
        model.save(update_fields=["description", "updated_at"])
        model.tags.all().delete()
        ModelTag.objects.bulk_create(
            ModelTag(registered_model=model, key=k, value=v) for k, v in tags.items()
        )
        search_text_refresh(model)
        audit.record(
            actor=actor,
            action="model.update",
            target=model,
            before=before,
            after=model_snapshot(model),
            registered_model_id=model.pk,
        )
    return model
