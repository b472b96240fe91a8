"""Content-Security-Policy for self-contained documents shown in the browser.

Every application page gets the strict policy of settings.CONTENT_SECURITY_POLICY from
django-csp's middleware: scripts and styles from our static files only, nothing inline.
Two pages are documents that must also print to PDF through WeasyPrint, which fetches
nothing (registry.pdf), so their CSS stays in one <style> block: the printable model card
and a report shown inline. That block is a template of its own with no variables in it
(running headers and footers take their text from the page through `string-set`), so its
SHA-256 is the same for every document and the policy allows exactly that block by hash:
no 'unsafe-inline', and a style attribute or any other <style> stays blocked.
"""

import base64
import hashlib

from csp.utils import build_policy
from django.template.loader import render_to_string


def style_hash(css: str) -> str:
    """The CSP source expression that allows exactly this <style> block's text."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def document_style_hash(css_template: str) -> str:
    """Hash of a document's style block, rendered the way `{% include %}` puts it inside
    `<style>...</style>` (it has no variables, so no context is needed)."""
    return style_hash(render_to_string(css_template))


def document_policy(css_template: str) -> str:
    """The application policy with style-src narrowed to the document's own block."""
    return build_policy(replace={"style-src": [document_style_hash(css_template)]})


# A stored report shown inline: sandboxed (no scripts, no forms, an opaque origin), nothing
# fetched, its style block allowed by hash. Built per response from the current template.
def sandboxed_document_policy(css_template: str) -> str:
    return (
        "sandbox; default-src 'none'; "
        f"style-src {document_style_hash(css_template)}; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
