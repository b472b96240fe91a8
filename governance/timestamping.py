"""RFC 3161 time-stamps from a configured time-stamping authority (ATTEST_TSA_URL), so a
tree head's or a PDF's time does not rest on Attest's clock alone.

pyHanko builds the requests and checks the responses (nonce, imprint, status); the HTTP
exchange is a plain urllib POST (`application/timestamp-query`), so nothing asynchronous
runs inside a request or a worker. This module imports nothing from `registry`.
"""

import asyncio
import base64
import concurrent.futures
import hashlib
import urllib.request

from asn1crypto import cms, pem, tsp, x509
from django.conf import settings
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext


def run_coroutine(make):
    """Run the coroutine `make()` to completion from synchronous code, also when this thread
    already runs an event loop (an ASGI server, a browser-test driver), where asyncio.run()
    would refuse: then it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class TimestampError(Exception):
    """The TSA could not be reached, or answered with something that is not a token."""


class UrllibTimeStamper(TimeStamper):
    def __init__(self, url: str, timeout: float = 10):
        super().__init__()
        self.url, self.timeout = url, timeout

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.get_running_loop().run_in_executor(None, self._post, req)

    def _post(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        request = urllib.request.Request(  # noqa: S310 - an http(s) URL from settings
            self.url,
            data=req.dump(),
            headers={"Content-Type": "application/timestamp-query"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return tsp.TimeStampResp.load(response.read())
        except (OSError, ValueError) as exc:
            raise TimestampError(f"the time-stamping authority did not answer: {exc}") from exc


def configured_timestamper() -> UrllibTimeStamper | None:
    url = getattr(settings, "ATTEST_TSA_URL", "")
    return UrllibTimeStamper(url) if url else None


def timestamp(message: bytes) -> str | None:
    """A base64 RFC 3161 token over SHA-256(message), or None when no TSA is configured."""
    stamper = configured_timestamper()
    if stamper is None:
        return None
    digest = hashlib.sha256(message).digest()
    try:
        token = run_coroutine(lambda: stamper.async_timestamp(digest, "sha256"))
    except TimestampError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko's refusals, as one error
        raise TimestampError(f"the time-stamping authority refused: {exc}") from exc
    return base64.b64encode(token.dump()).decode()


def _trust_roots() -> list:
    path = getattr(settings, "ATTEST_TSA_CA_FILE", "")
    if not path:
        return []
    with open(path, "rb") as handle:
        data = handle.read()
    if pem.detect(data):
        return [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
    return [x509.Certificate.load(data)]


def check(message: bytes, token_b64: str):
    """The token's time if it is a valid time-stamp over SHA-256(message) by a TSA that
    ATTEST_TSA_CA_FILE trusts; raises TimestampError otherwise."""
    try:
        info = cms.ContentInfo.load(base64.b64decode(token_b64))
        signed = info["content"]
        tst = signed["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]["hashed_message"].native
    except (ValueError, KeyError, TypeError) as exc:
        raise TimestampError(f"not an RFC 3161 token: {exc}") from exc
    if imprint != hashlib.sha256(message).digest():
        raise TimestampError("the time-stamp is over something else")
    context = ValidationContext(trust_roots=_trust_roots())
    status = run_coroutine(
        lambda: validate_tst_signed_data(signed, context, expected_tst_imprint=lambda _: imprint)
    )
    if not (status.get("intact") and status.get("valid") and status.get("trusted", True)):
        raise TimestampError("the time-stamp's signature does not verify under the TSA's chain")
    return tst["gen_time"].native
