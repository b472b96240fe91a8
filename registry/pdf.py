"""HTML to PDF with WeasyPrint, fetching nothing: documents are self-contained, and no
text a user wrote (a card section, a reason) may make the server request a URL or read a
local file while it renders."""


def _refuse(url, *args, **kwargs):
    raise ValueError(f"refused to fetch {url[:80]}")


def _no_fetching():
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 65 and later
    except ImportError:  # pragma: no cover - older WeasyPrint takes a function
        return _refuse

    class NoFetching(URLFetcher):
        def fetch(self, url, headers=None):
            return _refuse(url)

    return NoFetching(allowed_protocols=())


# Set at start-up by governance (governance.pdf_signing.sign_pdf): every PDF Attest makes
# leaves here signed, and registry imports nothing from governance to do it.
_signer = None


def register_signer(sign) -> None:
    global _signer
    _signer = sign


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango on first use

    pdf = HTML(string=html, url_fetcher=_no_fetching(), base_url=None).write_pdf()
    return _signer(pdf) if _signer is not None else pdf


# Set at start-up by governance (governance.transparency.document_anchor): what a PDF's
# first page names so a reader can tie it to the audit log: the instance key that signs
# the file and the audit log's signed tree head it was made against. A dict with
# `key_id`, `head_id`, `tree_size`, `root_hash`, `signed_at`; None without governance.
_anchor = None


def register_anchor(anchor) -> None:
    global _anchor
    _anchor = anchor


def document_anchor() -> dict | None:
    return _anchor() if _anchor is not None else None
