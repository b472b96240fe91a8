"""Issue 14, hostile input: webhooks cannot reach internal addresses.

Attacker: a model manager (or anyone who can register a webhook) who wants the server to
POST to its own loopback, the cloud metadata service or the private network: through an
IPv6 form that embeds an IPv4 address, or through a resolver that answers a public address
to the check and a private one to the connection (DNS rebinding)."""

import socket
import ssl

import pytest
from django.core.exceptions import ValidationError

from governance.models import Webhook, WebhookDelivery
from governance.services import webhooks
from tests.governance.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

REFUSED = [
    # IPv6 forms that map, embed or translate an IPv4 address
    "http://[::127.0.0.1]/x",  # IPv4-compatible
    "http://[::a9fe:a9fe]/x",
    "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped
    "http://[::ffff:8.8.8.8]/x",  # mapped, even when the IPv4 inside is public
    "http://[::ffff:0:7f00:1]/x",  # IPv4-translated
    "http://[64:ff9b::a9fe:a9fe]/x",  # NAT64 -> 169.254.169.254
    "http://[64:ff9b::808:808]/x",
    "http://[64:ff9b:1::a00:1]/x",  # NAT64 local-use
    "http://[2002:7f00:1::]/x",  # 6to4 -> 127.0.0.1
    "http://[2002:808:808::1]/x",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",  # Teredo
    # the existing classes
    "http://[::]/x",
    "http://[::1]/x",
    "http://[fe80::1]/x",
    "http://[fc00::1]/x",
    "http://[fec0::1]/x",  # site-local
    "http://[ff0e::1]/x",  # global-scope multicast
    "http://[ff02::1]/x",
    "http://[2001:db8::1]/x",
    "http://127.0.0.1/x",
    "http://127.1/x",
    "http://2130706433/x",
    "http://0x7f000001/x",
    "http://0.0.0.0/x",
    "http://10.1.2.3/x",
    "http://172.16.0.1/x",
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/x",
    "http://224.0.0.1/x",
    "http://240.0.0.1/x",
    "https://255.255.255.255/x",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_and_ipv4_embedding_addresses_are_refused(settings, url):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError):
        webhooks.check_url(url)


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8/hook", "https://[2606:4700:4700::1111]/hook", "http://1.1.1.1:8080/"]
)
def test_public_addresses_pass(settings, url):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    webhooks.check_url(url)


def test_bad_ports_are_a_validation_error(settings):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError):
        webhooks.check_url("http://8.8.8.8:99999/x")


def test_registration_refuses_the_embedding_forms(settings, scientist, model):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "http://[::127.0.0.1]/x",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
    ):
        with pytest.raises(ValidationError):
            webhooks.webhook_create(
                actor=scientist, name="x", url=url, events=["model.created"], registered_model=model
            )
    assert not Webhook.objects.exists()


PUBLIC = "93.184.216.34"


class Rebinder:
    """A resolver that answers a public address the first time and loopback afterwards."""

    def __init__(self):
        self.calls = []

    def __call__(self, host, port, *args, **kwargs):
        self.calls.append(host)
        address = PUBLIC if len(self.calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


def _public_resolver(host, port, *args, **kwargs):
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (PUBLIC, port))]


def _hook(scientist, model, url):
    """A webhook registered while the attacker's name still resolves to a public address."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _public_resolver)
        hook, _secret = webhooks.webhook_create(
            actor=scientist, name="h", url=url, events=["model.created"], registered_model=model
        )
    return WebhookDelivery.objects.create(webhook=hook, event="model.created", payload={})


@pytest.fixture
def connects(monkeypatch):
    """Records every socket connect target; refuses the connection."""
    targets = []

    def fake_connect(sock, address):
        targets.append(address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(socket.socket, "connect", fake_connect)
    return targets


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_dns_rebinding_cannot_steer_the_delivery_to_loopback(
    settings, monkeypatch, scientist, model, connects, scheme
):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    delivery = _hook(scientist, model, f"{scheme}://rebind.example/hook")
    rebinder = Rebinder()
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    delivery = webhooks.deliver(delivery.pk)
    port = 443 if scheme == "https" else 80
    assert connects == [(PUBLIC, port)]
    assert rebinder.calls == ["rebind.example"]  # resolved once, for the check
    assert delivery.status == "retrying" and "refused" in delivery.last_error


def test_a_rebinding_answer_at_delivery_is_refused_before_connecting(
    settings, monkeypatch, scientist, model, connects
):
    """The delivery checks its own resolution: loopback there is refused, not connected."""
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    delivery = _hook(scientist, model, "http://rebind.example/hook")
    rebinder = Rebinder()
    rebinder.calls.append("an earlier answer")  # this delivery's answer is loopback
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    delivery = webhooks.deliver(delivery.pk)
    assert connects == []
    assert "127.0.0.1" in delivery.last_error and delivery.status == "retrying"


def test_pinned_connection_keeps_host_header_and_tls_name(settings, monkeypatch, scientist, model):
    """The socket goes to the checked address; the request still names the host, and TLS
    verifies the certificate for the host name (SNI), not for the address."""
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = False
    receiver = Receiver()
    real_connect = socket.socket.connect
    targets = []

    def to_receiver(sock, address):
        targets.append(address)
        return real_connect(sock, ("127.0.0.1", receiver.server.server_port))

    try:
        delivery = _hook(scientist, model, "http://hooks.example:8443/in")
        monkeypatch.setattr(socket, "getaddrinfo", Rebinder())
        monkeypatch.setattr(socket.socket, "connect", to_receiver)
        delivery = webhooks.deliver(delivery.pk)
        assert delivery.status == "succeeded", delivery.last_error
        assert targets == [(PUBLIC, 8443)]
        headers, _body = receiver.received[0]
        assert headers["Host"] == "hooks.example:8443"

        names = []

        def wrap_socket(context, sock, *args, server_hostname=None, **kwargs):
            names.append((server_hostname, context.check_hostname, context.verify_mode))
            raise ssl.SSLError("stopped by the test")

        monkeypatch.setattr(ssl.SSLContext, "wrap_socket", wrap_socket)
        targets.clear()
        tls = _hook(scientist, model, "https://hooks.example/in")
        monkeypatch.setattr(socket, "getaddrinfo", Rebinder())
        tls = webhooks.deliver(tls.pk)
        assert targets == [(PUBLIC, 443)]
        assert names == [("hooks.example", True, ssl.CERT_REQUIRED)]
        assert tls.status == "retrying"
    finally:
        receiver.close()


def test_allow_private_still_reaches_loopback(settings, scientist, model):
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    try:
        webhooks.check_url("http://[::1]/x")
        delivery = _hook(scientist, model, receiver.url)
        assert webhooks.deliver(delivery.pk).status == "succeeded"
        assert len(receiver.received) == 1
    finally:
        receiver.close()
