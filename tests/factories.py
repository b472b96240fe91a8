"""Small builders for test data. They go through the services, like the application."""

import io
import itertools

from django.contrib.auth.models import Group, User

from governance import access
from registry.services import model_create, version_create
from registry.services.versions import UploadFile, VersionInput

_counter = itertools.count(1)


def make_user(username=None, *roles_or_teams, password="pw-for-tests-1") -> User:
    username = username or f"user{next(_counter)}"
    user = User.objects.create_user(username, f"{username}@example.com", password)
    for name in roles_or_teams:
        group, _ = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    return user


def make_team(name="Team A") -> Group:
    return Group.objects.get_or_create(name=name)[0]


def make_model(owner, name=None, team=None, **kwargs):
    team = team or owner.groups.exclude(name__in=access.ROLES).first() or make_team()
    if not owner.groups.filter(pk=team.pk).exists():
        owner.groups.add(team)
    return model_create(actor=owner, name=name or f"model-{next(_counter)}", team=team, **kwargs)


def make_version(owner, model, *, files=None, metrics=None, params=None, lineage=None, tags=None):
    files = files if files is not None else {"model.json": b'{"weights": [1, 2, 3]}'}
    return version_create(
        actor=owner,
        registered_model=model,
        data=VersionInput(
            files=[UploadFile(io.BytesIO(content), name) for name, content in files.items()],
            metrics=metrics or [{"name": "auc", "value": 0.9, "dataset": ""}],
            params=params or {"lr": "0.1"},
            lineage=lineage or {"framework": "sklearn", "run_id": "run-1"},
            tags=tags or {},
        ),
    )
