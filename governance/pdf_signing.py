"""PAdES signatures on every PDF Attest generates, with pyHanko and the instance key.

PAdES needs an X.509 certificate for the signing key. Attest makes a self-signed one for
the current key (var/keys/signing-<key id>.crt), or uses ATTEST_SIGNING_CERT_FILE when an
organisation issues one for the same key. A reviewer trusts that certificate (or the
key's fingerprint, which it carries) as they trust the key itself: docs/audit.md.

The signature covers the whole file as written (any later edit breaks it) and carries the
signing time. Registered with registry.pdf at start-up, so registry imports nothing here.
"""

import datetime
import io
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from governance import signing, timestamping

FIELD = "AttestSignature"
VALIDITY_DAYS = 3653


def certificate_path(key_id: str) -> Path:
    configured = getattr(settings, "ATTEST_SIGNING_CERT_FILE", "")
    return (
        Path(configured)
        if configured
        else signing.private_key_path().parent / f"signing-{key_id}.crt"
    )


def certificate_pem() -> bytes:
    """The certificate of the current key, made (self-signed) on first use."""
    key = signing.private_key()
    key_id = signing.key_id_of(key.public_key())
    path = certificate_path(key_id)
    if not path.exists():
        if getattr(settings, "ATTEST_SIGNING_CERT_FILE", ""):
            raise RuntimeError(f"ATTEST_SIGNING_CERT_FILE {path} does not exist.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_self_signed(key, key_id))
    pem = path.read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    if cert.public_key() != key.public_key():
        raise RuntimeError(f"{path} is not a certificate for the current signing key {key_id}.")
    return pem


def _self_signed(key, key_id: str) -> bytes:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Attest instance signing key {key_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Attest"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_cert_sign=True,
                crl_sign=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, None)
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _signer() -> signers.SimpleSigner:
    key = signing.private_key()
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(certificate_pem()).public_bytes(serialization.Encoding.DER)
    )
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore.from_certs([cert]),
    )


def sign_pdf(pdf: bytes) -> bytes:
    """`pdf` with a PAdES baseline signature by the instance key, signing time included."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha512",
        reason="Generated and signed by Attest",
        name=f"Attest instance key {signing.current_key_id()}",
    )
    out = io.BytesIO()
    # With a time-stamping authority configured, the signature carries its time-stamp.
    stamper = timestamping.configured_timestamper()
    signer = signers.PdfSigner(meta, signer=_signer(), timestamper=stamper)
    # pyHanko's sync sign_pdf calls asyncio.run(), which fails inside a running loop.
    timestamping.run_coroutine(lambda: signer.async_sign_pdf(writer, output=out))
    return out.getvalue()
