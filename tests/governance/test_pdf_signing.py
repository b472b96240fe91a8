"""Every PDF Attest generates carries a PAdES signature by the instance key: pyHanko's
validator reports it intact and valid against the instance certificate, and an edit of
one byte of content breaks it."""

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from governance import pdf_signing, signing
from registry.pdf import html_to_pdf


@pytest.fixture(autouse=True)
def own_key_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.ATTEST_SIGNING_KEY_FILE = ""
    settings.ATTEST_SIGNING_CERT_FILE = ""


def _certificate():
    _, _, der = asn1_pem.unarmor(pdf_signing.certificate_pem())
    return asn1_x509.Certificate.load(der)


def _status(pdf: bytes):
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[_certificate()]))


def test_a_generated_pdf_is_signed_and_validates():
    pdf = html_to_pdf("<h1>Technical documentation</h1><p>Signed by Attest.</p>")
    status = _status(pdf)
    assert status.intact and status.valid and status.bottom_line
    assert status.signer_reported_dt is not None  # the signing time is in the signature
    assert signing.current_key_id() in status.signing_cert.subject.human_friendly


def test_changing_one_byte_of_content_breaks_the_signature():
    pdf = bytearray(html_to_pdf("<p>Approved by avery on 2026-12-01.</p>"))
    at = pdf.index(b"stream") + 20  # inside the first content stream, within the signed range
    pdf[at] ^= 0x01
    status = _status(bytes(pdf))
    assert not (status.intact and status.valid)


def test_pyhanko_cli_reports_the_signature_intact_and_catches_an_edit(tmp_path):
    beside = Path(sys.executable).parent / "pyhanko"  # the venv's, when it is not on PATH
    cli = str(beside) if beside.exists() else shutil.which("pyhanko")
    if cli is None:
        pytest.skip("pyhanko's CLI (pyhanko-cli, a dev dependency) is not installed")
    cert = tmp_path / "attest.crt"
    cert.write_bytes(pdf_signing.certificate_pem())
    signed = tmp_path / "doc.pdf"
    signed.write_bytes(html_to_pdf("<p>Evidence</p>"))
    ok = subprocess.run(
        [
            cli,
            "sign",
            "validate",
            "--trust",
            str(cert),
            "--trust-replace",
            "--pretty-print",
            str(signed),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "The signature is judged VALID." in ok.stdout
    assert "The signature covers the entire file." in ok.stdout
    data = bytearray(signed.read_bytes())
    data[data.index(b"stream") + 20] ^= 0x01
    edited = tmp_path / "edited.pdf"
    edited.write_bytes(bytes(data))
    bad = subprocess.run(
        [
            cli,
            "sign",
            "validate",
            "--trust",
            str(cert),
            "--trust-replace",
            "--pretty-print",
            str(edited),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0, bad.stdout


def test_the_certificate_is_for_the_current_key_and_follows_a_rotation():
    first = pdf_signing.certificate_pem()
    signing.rotate()
    second = pdf_signing.certificate_pem()
    assert first != second
    pdf = html_to_pdf("<p>After rotation</p>")
    assert _status(pdf).bottom_line


def test_signing_works_inside_a_running_event_loop():
    """As in an ASGI server or a browser test's driver thread: pyHanko's own sync entry
    point would call asyncio.run() there and fail."""
    import asyncio

    async def inside_a_loop():
        return html_to_pdf("<p>Signed from a loop</p>")

    assert _status(asyncio.run(inside_a_loop())).bottom_line
