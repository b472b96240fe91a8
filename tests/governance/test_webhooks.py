"""Webhooks: events from audited writes, MLflow's signature scheme, retries, SSRF refusal."""

import base64
import hashlib
import hmac
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from governance import access, sealing
from governance.models import AuditEvent, Webhook, WebhookDelivery
from governance.services import webhooks
from governance.webhook_tasks import retry_due_webhooks
from tests.conftest import client_for
from tests.factories import make_version

pytestmark = pytest.mark.django_db


class Receiver:
    """A loopback HTTP endpoint that records what it receives and answers `status`."""

    def __init__(self, status=200):
        self.status = status
        self.received = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.headers, body.decode()))  # case-insensitive
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver(settings):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = True
    r = Receiver()
    yield r
    r.close()


def verify(secret, headers, body) -> bool:
    """How a receiver written for MLflow's webhooks checks a delivery."""
    content = f"{headers['X-MLflow-Delivery-Id']}.{headers['X-MLflow-Timestamp']}.{body}"
    digest = hmac.new(secret.encode(), content.encode(), hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    return hmac.compare_digest(expected, headers["X-MLflow-Signature"])


def test_version_created_is_delivered_signed(
    django_capture_on_commit_callbacks, receiver, scientist, model
):
    hook, secret = webhooks.webhook_create(
        actor=scientist,
        name="ci",
        url=receiver.url,
        events=["version.created"],
        registered_model=model,
    )
    with django_capture_on_commit_callbacks(execute=True):
        version = make_version(scientist, model)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert verify(secret, headers, body)
    assert not verify("wrong", headers, body)
    payload = json.loads(body)
    assert payload["id"] == headers["X-MLflow-Delivery-Id"]
    assert payload["timestamp"] == headers["X-MLflow-Timestamp"]
    assert payload["event"] == "version.created"
    assert payload["data"]["data"]["version"] == version.version
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == "succeeded" and delivery.response_code == 200
    assert delivery.attempts == 1 and delivery.duration_ms is not None


def test_unsubscribed_events_and_other_models_are_not_sent(
    django_capture_on_commit_callbacks, receiver, scientist, model, team
):
    from tests.factories import make_model

    webhooks.webhook_create(
        actor=scientist, name="ci", url=receiver.url, events=["alias.set"], registered_model=model
    )
    other = make_model(scientist, name="other", team=team)
    with django_capture_on_commit_callbacks(execute=True):
        make_version(scientist, model)
        make_version(scientist, other)
    assert receiver.received == []


def test_failed_deliveries_retry_with_backoff(
    django_capture_on_commit_callbacks, receiver, scientist, model
):
    receiver.status = 500
    hook, _ = webhooks.webhook_create(
        actor=scientist,
        name="ci",
        url=receiver.url,
        events=["version.created"],
        registered_model=model,
    )
    with django_capture_on_commit_callbacks(execute=True):
        make_version(scientist, model)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == "retrying" and delivery.response_code == 500
    assert delivery.next_attempt_at is not None
    for _ in range(webhooks.MAX_ATTEMPTS):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at="2000-01-01T00:00Z")
        retry_due_webhooks()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    assert webhooks.backoff(2) > webhooks.backoff(1)


def test_private_addresses_are_refused(settings, scientist, model):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.5/x", "http://[::1]/x", "ftp://x.org/"):
        with pytest.raises(ValidationError):
            webhooks.webhook_create(
                actor=scientist,
                name="x",
                url=url,
                events=["model.created"],
                registered_model=model,
            )
    assert not Webhook.objects.exists()


def test_who_may_register(receiver, scientist, viewer, registry_admin, auditor, model):
    with pytest.raises(PermissionDenied):  # view grant only
        webhooks.webhook_create(
            actor=viewer,
            name="x",
            url=receiver.url,
            events=["model.created"],
            registered_model=model,
        )
    with pytest.raises(PermissionDenied):  # every model: admins only
        webhooks.webhook_create(
            actor=scientist, name="x", url=receiver.url, events=["model.created"]
        )
    access.grant(model, "view", user=auditor)
    with pytest.raises(PermissionDenied):
        webhooks.webhook_create(
            actor=auditor,
            name="x",
            url=receiver.url,
            events=["model.created"],
            registered_model=model,
        )
    hook, _ = webhooks.webhook_create(
        actor=registry_admin, name="all", url=receiver.url, events=["model.created"]
    )
    assert AuditEvent.objects.filter(action="webhook.create").count() == 1
    assert hook.registered_model is None


def test_pages_and_send_test(
    django_capture_on_commit_callbacks, receiver, scientist, viewer, model
):
    client = client_for(scientist)
    response = client.post(
        reverse("governance:webhook-list"),
        {"name": "ops", "url": receiver.url, "events": ["version.created"], "model": model.pk},
    )
    assert response.status_code == 200
    secret = response.context["created"]["secret"]
    hook = Webhook.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("governance:webhook-test", args=[hook.pk]))
    assert response.status_code == 302
    headers, body = receiver.received[0]
    assert verify(secret, headers, body) and json.loads(body)["event"] == "webhook.test"
    page = client.get(reverse("governance:webhook-detail", args=[hook.pk]))
    assert page.status_code == 200 and b"Delivered" in page.content
    # Someone who does not manage the model: no page, and the webhook is not theirs to see.
    assert client_for(viewer).get(reverse("governance:webhook-list")).status_code == 403
    assert (
        client_for(viewer).get(reverse("governance:webhook-detail", args=[hook.pk])).status_code
        == 404
    )
    bad = client.post(
        reverse("governance:webhook-list"), {"name": "", "url": "nope", "model": model.pk}
    )
    assert bad.status_code == 400


# --- Signing secrets are sealed at rest ------------------------------------------------------


def _hook(scientist, model, url):
    return webhooks.webhook_create(
        actor=scientist, name="ci", url=url, events=["version.created"], registered_model=model
    )


def test_secret_is_stored_sealed_and_opened_for_signing(receiver, scientist, model):
    hook, secret = _hook(scientist, model, receiver.url)
    stored = Webhook.objects.values_list("secret", flat=True).get(pk=hook.pk)
    assert secret not in stored and stored.startswith(sealing.PREFIX)
    assert Webhook.objects.get(pk=hook.pk).signing_secret() == secret
    assert sealing.seal(secret) != stored  # a fresh IV each time: equal secrets look different


def test_rotated_secret_key_still_signs_then_resealing_drops_the_old_key(
    settings, django_capture_on_commit_callbacks, receiver, scientist, model
):
    hook, secret = _hook(scientist, model, url=receiver.url)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "x" * 50, [old_key]
    with django_capture_on_commit_callbacks(execute=True):
        make_version(scientist, model)
    headers, body = receiver.received[-1]
    assert verify(secret, headers, body)

    call_command("reseal_secrets", stdout=io.StringIO())
    assert AuditEvent.objects.filter(action="webhook.reseal").exists()
    settings.SECRET_KEY_FALLBACKS = []
    assert Webhook.objects.get(pk=hook.pk).signing_secret() == secret


def test_a_secret_sealed_under_a_dropped_key_fails_the_delivery_clearly(
    settings, django_capture_on_commit_callbacks, receiver, scientist, model
):
    hook, _ = _hook(scientist, model, url=receiver.url)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-key-" + "y" * 50, []
    with django_capture_on_commit_callbacks(execute=True):
        make_version(scientist, model)
    assert receiver.received == []  # nothing sent unsigned
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == "retrying" and "SECRET_KEY" in delivery.last_error
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("reseal_secrets", stdout=io.StringIO())


def test_migration_seals_secrets_stored_in_clear(receiver, scientist, model):
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    hook, secret = _hook(scientist, model, receiver.url)
    Webhook.objects.filter(pk=hook.pk).update(secret=secret)  # as stored before sealing

    class Editor:
        pass

    Editor.connection = connection
    import_module("governance.migrations.0010_seal_webhook_secrets").seal_secrets(apps, Editor())
    hook.refresh_from_db()
    assert sealing.is_sealed(hook.secret) and hook.signing_secret() == secret
