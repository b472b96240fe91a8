"""A real RFC 3161 time-stamping authority on loopback, for the tests: an HTTP server in a
thread that answers `application/timestamp-query` with pyHanko's test TSA signer, under a
CA and a TSA certificate (extended key usage timeStamping) made here."""

import datetime
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _make_pki():
    now = datetime.datetime.now(datetime.UTC)
    # pyHanko's test signer is RSA-only.
    ca_key, tsa_key = (rsa.generate_private_key(65537, 2048) for _ in range(2))
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Attest test TSA root"))
        .issuer_name(_name("Attest test TSA root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("Attest test TSA"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return ca, tsa, tsa_key


def _asn1(cert):
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _Handler(BaseHTTPRequestHandler):
    stamper: DummyTimeStamper

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        response = self.server.stamper.request_tsa_response(tsp.TimeStampReq.load(body))
        data = response.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextmanager
def running_tsa(tmp_path):
    """Yields (url, path of the CA certificate to trust)."""
    ca, tsa, tsa_key = _make_pki()
    key_der = tsa_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.stamper = DummyTimeStamper(
        tsa_cert=_asn1(tsa),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=SimpleCertificateStore.from_certs([_asn1(ca)]),
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca_file = tmp_path / "tsa-root.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", ca_file
    finally:
        server.shutdown()
        server.server_close()
