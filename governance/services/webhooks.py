"""Webhooks: registry events delivered as signed JSON to registered endpoints.

Events come from the audit trail: every write already records exactly one audit event in
its transaction, so a post_save hook on AuditEvent turns the ones that matter into
deliveries (rows in the same transaction) and queues their sending after commit. No
service needs to know about webhooks, and nothing is sent for a write that rolled back.

Deliveries are signed the way MLflow signs its webhooks: headers X-MLflow-Delivery-Id,
X-MLflow-Timestamp and X-MLflow-Signature = "v1," + base64(HMAC-SHA256(secret,
"<delivery id>.<timestamp>.<body>")). Receivers written for MLflow verify them unchanged.

Endpoints in private, loopback, link-local or otherwise non-public address ranges are
refused, at registration and again at every delivery (DNS can change), unless the
ATTEST_WEBHOOK_ALLOW_PRIVATE setting allows them. So is every IPv6 address that maps, embeds
or translates an IPv4 address (::ffff:0:0/96, ::/96, NAT64, 6to4, Teredo): the IPv4 inside
could be anything. A delivery resolves the host once, checks every address, and connects to
the checked address itself (the Host header, TLS SNI and certificate check still use the
name), so a resolver that answers differently the second time (DNS rebinding) cannot steer
it. Redirects are not followed, and no proxy from the environment is used."""

import base64
import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from core.dispatch import task_by_name
from governance import access, audit, sealing
from governance.models import AuditEvent, Webhook, WebhookDelivery
from governance.models.webhooks import EVENTS

EVENT_NAMES = [e for e, _ in EVENTS if e != "webhook.test"]
SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
# Sent by name: governance.webhook_tasks imports this module, so this one must not import it.
DELIVER_WEBHOOK_TASK = "governance.webhook_tasks.deliver_webhook"
MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 5
# Wait before attempt n+1: 30 s, 2 min, 8 min, 32 min.
BACKOFF_BASE_SECONDS = 30


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_BASE_SECONDS * 4 ** max(attempts - 1, 0))


def sign(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(
        secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- Who may manage which webhooks -----------------------------------------------------


def webhooks_visible(user):
    """restrict() on webhooks: those on models `user` manages; every one for registry admins
    (Webhook.linked_rows, Webhook.sees_all_rows)."""
    return Webhook.objects.restrict(user, "view").select_related("registered_model", "created_by")


def can_manage_webhooks(user) -> bool:
    if access.is_registry_admin(user):
        return True
    from registry.models import RegisteredModel

    return RegisteredModel.objects.restrict(user, "manage").exists()


def _require_webhook_right(actor, registered_model) -> None:
    if registered_model is None:
        if not access.is_registry_admin(actor):
            raise PermissionDenied("Only registry admins can subscribe to every model's events.")
    elif not access.is_registry_admin(actor):
        access.require(actor, registered_model, "manage")


# --- Address checks ----------------------------------------------------------------------


# IPv6 ranges whose addresses carry an IPv4 address inside: a check of the IPv6 address says
# nothing about where the packets end up (a NAT64 gateway or 6to4 relay unwraps them).
IPV4_EMBEDDING_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "::/96",  # IPv4-compatible (deprecated), also :: and ::1
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
    )
)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and any(ip in net for net in IPV4_EMBEDDING_NETWORKS):
        return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_private
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_reserved
        and not ip.is_unspecified
        and not getattr(ip, "is_site_local", False)  # fec0::/10, deprecated but routable inside
    )


def _parts(url: str):
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// URL."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Put credentials in the receiver, not in the URL."})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError({"url": "The port is not a number between 0 and 65535."}) from exc
    return parts, port


def resolve_checked(url: str) -> list[tuple]:
    """Resolve the URL's host once: [(family, sockaddr)], every address checked (unless
    private addresses are allowed). The delivery connects to these, never resolving again."""
    parts, port = _parts(url)
    try:
        infos = socket.getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise ValidationError({"url": f"{parts.hostname} does not resolve."}) from exc
    if not infos:
        raise ValidationError({"url": f"{parts.hostname} does not resolve."})
    if not getattr(settings, "ATTEST_WEBHOOK_ALLOW_PRIVATE", False):
        for info in infos:
            if not _public(str(info[4][0])):
                raise ValidationError(
                    {
                        "url": f"{parts.hostname} resolves to {info[4][0]}, a private, "
                        "loopback or IPv4-embedding address; a registry admin setting must "
                        "allow those."
                    }
                )
    return [(info[0], info[4]) for info in infos]


def check_url(url: str) -> None:
    """Refuse non-http(s) URLs, and hosts resolving to non-public addresses unless allowed."""
    _parts(url)
    if getattr(settings, "ATTEST_WEBHOOK_ALLOW_PRIVATE", False):
        return
    resolve_checked(url)


# --- Services ----------------------------------------------------------------------------


def _snapshot(hook: Webhook) -> dict:
    return {
        "name": hook.name,
        "url": hook.url,
        "events": hook.events,
        "model": hook.registered_model.name if hook.registered_model_id else None,
        "active": hook.active,
    }


def webhook_create(
    *, actor, name: str, url: str, events: list[str], registered_model=None
) -> tuple[Webhook, str]:
    """Returns the webhook and its signing secret (shown to the creator once)."""
    if access.is_auditor(actor):
        raise PermissionDenied("Auditors are read-only.")
    _require_webhook_right(actor, registered_model)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the webhook a name."})
    unknown = set(events) - set(EVENT_NAMES)
    if not events or unknown:
        raise ValidationError({"events": "Choose at least one known event."})
    check_url(url)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        hook = Webhook.objects.create(
            name=name[:100],
            url=url,
            secret=sealing.seal(secret),
            events=sorted(set(events)),
            registered_model=registered_model,
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action="webhook.create",
            target=hook,
            after=_snapshot(hook),
            registered_model_id=hook.registered_model_id,
        )
    return hook, secret


def webhook_delete(*, actor, webhook: Webhook) -> None:
    _require_webhook_right(actor, webhook.registered_model)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="webhook.delete",
            target=webhook,
            before=_snapshot(webhook),
            registered_model_id=webhook.registered_model_id,
        )
        webhook.delete()


def webhook_send_test(*, actor, webhook: Webhook) -> WebhookDelivery:
    _require_webhook_right(actor, webhook.registered_model)
    with transaction.atomic():
        delivery = _enqueue(
            webhook,
            "webhook.test",
            {"message": "A test delivery from Attest.", "webhook": webhook.name},
        )
        audit.record(
            actor=actor,
            action="webhook.test",
            target=webhook,
            after={"delivery": str(delivery.delivery_id)},
            registered_model_id=webhook.registered_model_id,
        )
    return delivery


# --- From audit events to deliveries ---------------------------------------------------


def events_for(event: AuditEvent) -> list[str]:
    action = event.action
    after = event.after or {}
    names = {
        "model.create": ["model.created"],
        "version.create": ["version.created"],
        "transition.request": ["transition.requested"],
        "transition.reject": ["transition.rejected"],
        "alias.set": ["alias.set"],
        "alias.move": ["alias.set"],  # a protected alias following Production
        "alias.delete": ["alias.removed"],
        "version.archive": ["stage.changed"],
        "version.emergency_rollback": ["stage.changed"],
        "card.save": ["card.changed"],
        "card.import": ["card.changed"],
    }.get(action, [])
    if action == "transition.approve":
        names = ["transition.approved"] + (["stage.changed"] if after.get("stage_change") else [])
    if action == "audit.export" or (
        action.startswith("report.") and action.endswith(("ready", "finish", "generate"))
    ):
        # Evidence and audit exports; report generators that record report.<…> events.
        names = ["report.ready"]
    return names


def _payload(event: AuditEvent, name: str) -> dict:
    return {
        "event": name,
        "action": event.action,
        "model": (event.after or event.before or {}).get("model") or event.target_repr,
        "target": {"type": event.target_type, "id": event.target_id, "repr": event.target_repr},
        "actor": event.actor_username,
        "data": event.after or {},
        "audit_event": event.pk,
        "request_id": event.request_id,
    }


def _enqueue(webhook: Webhook, name: str, data: dict) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(webhook=webhook, event=name, payload=data)
    transaction.on_commit(lambda: _send_later(delivery.pk))
    return delivery


def _send_later(delivery_pk: int, countdown: int | None = None) -> None:
    try:
        task_by_name(DELIVER_WEBHOOK_TASK).apply_async(args=[delivery_pk], countdown=countdown)
    except Exception:  # noqa: BLE001 - broker down: the periodic sweep sends it later
        WebhookDelivery.objects.filter(pk=delivery_pk).update(next_attempt_at=timezone.now())


@receiver(post_save, sender=AuditEvent, dispatch_uid="attest-webhooks")
def _on_audit_event(sender, instance: AuditEvent, created: bool, **kwargs):
    if not created:
        return
    names = events_for(instance)
    if not names:
        return
    hooks = Webhook.objects.filter(active=True)
    for hook in hooks:
        if hook.registered_model_id and hook.registered_model_id != instance.registered_model_id:
            continue
        for name in names:
            if name in hook.events:
                _enqueue(hook, name, _payload(instance, name))


# --- Sending -----------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _pinned_socket(addresses: list[tuple], timeout, source_address=None) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers. The socket is
    made from the sockaddr itself: nothing here resolves a name again."""
    error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("No address to connect to.")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = lambda _address, timeout, source=None: _pinned_socket(
            addresses, timeout, source
        )


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    # HTTPSConnection.connect() wraps the socket with server_hostname=self.host: SNI and the
    # certificate check are for the URL's host name, whatever address was connected to.
    def __init__(self, *args, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = lambda _address, timeout, source=None: _pinned_socket(
            addresses, timeout, source
        )


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, addresses):
        super().__init__()
        self.addresses = addresses

    def http_open(self, req):
        return self.do_open(functools.partial(_PinnedHTTPConnection, addresses=self.addresses), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, addresses):
        super().__init__()
        self.addresses = addresses

    def https_open(self, req):
        connection = functools.partial(_PinnedHTTPSConnection, addresses=self.addresses)
        return self.do_open(connection, req, context=self._context)


def _opener_for(url: str):
    """An opener that connects only to the addresses checked for `url`'s host."""
    addresses = resolve_checked(url)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirect,
        _PinnedHTTPHandler(addresses),
        _PinnedHTTPSHandler(addresses),
    )


def deliver(delivery_pk: int) -> WebhookDelivery | None:
    """One attempt. Returns the delivery; schedules the next attempt with backoff on failure."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("webhook")
            .filter(pk=delivery_pk)
            .first()
        )
        if delivery is None or delivery.status in (
            WebhookDelivery.Status.SUCCEEDED,
            WebhookDelivery.Status.FAILED,
        ):
            return delivery  # idempotent: already settled
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    hook = delivery.webhook
    timestamp = str(int(time.time()))
    body = json.dumps(
        {
            "id": str(delivery.delivery_id),
            "timestamp": timestamp,
            "event": delivery.event,
            "data": delivery.payload,
        },
        sort_keys=True,
        default=str,
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Attest-Webhooks/1",
        DELIVERY_ID_HEADER: str(delivery.delivery_id),
        TIMESTAMP_HEADER: timestamp,
    }
    code, error = None, ""
    started = time.monotonic()
    try:
        secret = hook.signing_secret()
        headers[SIGNATURE_HEADER] = sign(secret, str(delivery.delivery_id), timestamp, body)
        opener = _opener_for(hook.url)  # resolves once and checks every address
        request = urllib.request.Request(  # noqa: S310 - scheme checked by resolve_checked
            hook.url, data=body.encode(), headers=headers, method="POST"
        )
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except ValidationError as exc:
        error = "; ".join(exc.messages)
    except sealing.SealError as exc:
        error = str(exc)
    except (OSError, ValueError) as exc:
        error = str(exc) or exc.__class__.__name__
    duration = int((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    update = {"response_code": code, "duration_ms": duration, "last_error": error[:500]}
    if ok:
        update["status"] = WebhookDelivery.Status.SUCCEEDED
    elif delivery.attempts >= MAX_ATTEMPTS:
        update["status"] = WebhookDelivery.Status.FAILED
    else:
        update["status"] = WebhookDelivery.Status.RETRYING
        update["next_attempt_at"] = timezone.now() + backoff(delivery.attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**update)
    delivery.refresh_from_db()
    return delivery


def due_deliveries():
    return WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        next_attempt_at__lte=timezone.now(),
    )
