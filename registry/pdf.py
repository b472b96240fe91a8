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


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango on first use

    return HTML(string=html, url_fetcher=_no_fetching(), base_url=None).write_pdf()
