"""Every URL of the UI and the API, requested as every role (tests/matrix.py: ROUTES).

A route with no row in the matrix fails `test_every_route_is_in_the_matrix`, so nothing
ships without its permissions written down. Each role's request runs in a savepoint that
is rolled back, so every role meets the same world and a write by one does not change
what the next one sees."""

import json
import re

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from governance.admin_site import registry_admin_site
from governance.models import AuditEvent
from tests.conftest import client_for, download_status
from tests.matrix import ADMIN, DOWNLOAD, LOGIN, ROUTES, Route
from tests.route_world import ROLES, add_matrix_extras, build_world


def _route_keys(resolver=None, namespace="", prefix=""):
    """(key, full route text) of every pattern: the namespaced name, else the route text."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _route_keys(pattern, ns, text)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and ":".join(filter(None, [namespace, pattern.name]))
            yield (name or text), text


def test_every_route_is_in_the_matrix():
    keys = {key for key, text in _route_keys() if not text.startswith("admin/")}
    covered = {route.key for route in ROUTES}
    assert not keys - covered, f"routes with no row in tests/matrix.py: {sorted(keys - covered)}"
    assert not covered - keys, f"rows for routes that do not exist: {sorted(covered - keys)}"


# Django's own unnamed admin patterns: a redirect from an old object URL to its change
# page, and the catch-all that answers 404 (or redirects to sign in) for anything else.
ADMIN_UNNAMED = (re.compile(r"^admin/\w+/\w+/<path:object_id>/$"), re.compile(r"^admin/\("))


def test_every_admin_route_belongs_to_the_guarded_site():
    """Admin patterns are not listed one by one: they all go through the registry admin
    site's one guard, which test_admin_pages checks for every registered model."""
    for key, text in _route_keys():
        if text.startswith("admin/"):
            assert key.startswith("admin:") or any(p.match(text) for p in ADMIN_UNNAMED), text


@pytest.fixture
def world(db, settings):
    w = build_world(settings)
    add_matrix_extras(w)
    return w


def _client(route: Route, world, role: str) -> Client:
    """Signed in before the savepoint: signing in is audited, and is not the request's."""
    user = world.users[role]
    if not route.api:
        return client_for(user)
    return Client(**({"HTTP_AUTHORIZATION": f"Bearer {world.tokens[role]}"} if user else {}))


def _request(route: Route, world, role: str, client: Client):
    data = route.data(world, role) if callable(route.data) else route.data
    url = route.url(world)
    if not route.api:
        return getattr(client, route.method)(url, data or {})
    if route.method == "get":
        return client.get(url, data or {})
    if route.json:
        return getattr(client, route.method)(
            url, json.dumps(data or {}), content_type="application/json"
        )
    return getattr(client, route.method)(url, data, content_type="application/octet-stream")


def _observe(route: Route, world, role: str):
    """The response and the audit events it wrote, then roll the savepoint back."""
    client = _client(route, world, role)
    with transaction.atomic():
        before = AuditEvent.objects.count()
        response = _request(route, world, role, client)
        written = AuditEvent.objects.count() - before
        transaction.set_rollback(True)
    return response, written


def _status(response):
    sign_in = (reverse("login"), reverse("admin:login"))
    if response.status_code == 302 and response["Location"].startswith(sign_in):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_route(route: Route, world):
    assert set(route.expect) == set(ROLES), f"{route.id}: give every role an expectation"
    wrong = {}
    for role in ROLES:
        response, written = _observe(route, world, role)
        status = _status(response)
        expected = download_status() if route.expect[role] == DOWNLOAD else route.expect[role]
        if status != expected:
            wrong[role] = f"expected {expected}, got {status}"
            continue
        if route.writes is not None:
            succeeded = isinstance(status, int) and status < 400
            expected_events = route.writes if succeeded else 0
            if written != expected_events:
                wrong[role] = f"{written} audit events, expected {expected_events}"
    assert not wrong, f"{route.id}: {wrong}"


def test_admin_pages(world):
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
        for m in registry_admin_site._registry
    ]
    for url in urls:
        for role in ROLES:
            response = client_for(world.users[role]).get(url)
            expected = ADMIN[role]
            assert _status(response) == expected, (url, role, response.status_code)
