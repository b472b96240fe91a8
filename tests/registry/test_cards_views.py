"""Model card pages: the permission matrix of every view, the editor, import, exports."""

import io

import pypdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent
from registry.cards import SECTION_KEYS, SECTIONS, hf_readme
from registry.models import ModelCard, Stage
from registry.services.cards import card_save
from tests.conftest import client_for
from tests.matrix import LOGIN, check_matrix

READERS = {
    "anonymous": LOGIN,
    "no_grant": 404,
    "approver_without_grant": 404,
    "viewer": 200,
    "auditor": 200,
    "owner": 200,
    "admin": 200,
}
WRITE_GET = {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 200}


@pytest.fixture
def users(scientist, other_scientist, viewer, auditor, approver, registry_admin):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "auditor": auditor,
        "approver_without_grant": approver,
        "owner": scientist,
        "admin": registry_admin,
    }


def stored_card(version):
    return ModelCard.objects.get(model_version=version)


def url(name, version, query=""):
    return reverse(name, args=[version.registered_model.name, version.version]) + query


def form_data(**sections):
    data = {"base_revision": "", "note": ""}
    data.update({key: "" for key in SECTION_KEYS})
    data.update({"developers": "", "model_type": "", "license": "", "tags": "", "datasets": ""})
    data.update(sections)
    return data


@pytest.mark.parametrize(
    "name",
    [
        "registry:card-detail",
        "registry:card-revisions",
        "registry:card-export-readme",
        "registry:card-export-html",
        "registry:card-export-pdf",
    ],
)
def test_reading_views_matrix(users, version, name):
    check_matrix(users, url(name, version), READERS)


def test_card_edit_matrix(users, version):
    check_matrix(users, url("registry:card-edit", version), WRITE_GET | {"admin": 403})
    counter = iter(range(100))

    def data(role):
        return form_data(intended_use=f"Edited by {role} {next(counter)}")

    check_matrix(
        users,
        url("registry:card-edit", version),
        {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 302},
        method="post",
        data=data,
        writes_on_success=1,
    )
    event = AuditEvent.objects.latest("id")
    assert event.action == "card.save" and event.actor_username == "dana"
    assert stored_card(version).sections["intended_use"].startswith("Edited by owner")


def test_card_preview_matrix(users, version):
    check_matrix(
        users,
        url("registry:card-preview", version),
        {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 200},
        method="post",
        data={"_preview": "intended_use", "intended_use": "**bold**"},
        writes_on_success=0,
    )


def test_card_import_matrix(users, version):
    check_matrix(users, url("registry:card-import", version), WRITE_GET)

    def data(role):
        text = f"## Intended use\n\nImported for {role}.\n"
        return {"readme": SimpleUploadedFile("README.md", text.encode())}

    check_matrix(
        users,
        url("registry:card-import", version),
        {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 302},
        method="post",
        data=data,
        writes_on_success=1,
    )
    assert stored_card(version).sections["intended_use"] == "Imported for owner."
    assert AuditEvent.objects.latest("id").action == "card.import"


def test_the_editor_saves_a_revision_and_completeness_changes(scientist, version, settings):
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "contact"]
    client = client_for(scientist)
    page = client.get(url("registry:version-detail", version)).content.decode()
    assert "0%" in page and "Intended use" in page and "Contact" in page
    response = client.post(
        url("registry:card-edit", version),
        form_data(intended_use="Scores **card** payments.", base_revision="1", note="draft"),
    )
    assert response.status_code == 302
    assert response["Location"] == url("registry:card-detail", version)
    page = client.get(url("registry:card-detail", version)).content.decode()
    assert "<strong>card</strong>" in page and "50%" in page
    assert "Saved the model card" in page
    page = client.get(url("registry:version-detail", version)).content.decode()
    assert "50%" in page


def test_the_editor_keeps_input_on_error(scientist, version):
    response = client_for(scientist).post(
        url("registry:card-edit", version),
        form_data(intended_use="Keep me <b>please</b>", license="Apache 2.0", base_revision="1"),
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "Keep me &lt;b&gt;please&lt;/b&gt;" in content  # still in the textarea
    assert 'value="Apache 2.0"' in content
    assert "licence identifier in lower case" in content
    assert not AuditEvent.objects.filter(action="card.save").exists()


def test_a_stale_form_is_refused_and_keeps_its_text(scientist, version):
    card_save(actor=scientist, version=version, sections={"contact": "someone else"})
    response = client_for(scientist).post(
        url("registry:card-edit", version),
        form_data(contact="my text", base_revision="1"),
    )
    assert response.status_code == 409
    assert "Someone saved this card" in response.content.decode()
    assert "my text" in response.content.decode()
    assert stored_card(version).sections == {"contact": "someone else"}


def test_preview_without_javascript_renders_and_does_not_save(scientist, version):
    response = client_for(scientist).post(
        url("registry:card-edit", version),
        form_data(intended_use="*typed*", base_revision="1", preview="1"),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert '<div class="prose preview" id="preview-intended_use"' in content
    assert "<em>typed</em>" in content and "Previewed, not saved yet." in content
    assert not AuditEvent.objects.filter(action="card.save").exists()


def test_live_preview_renders_the_section_and_the_completeness(scientist, version, settings):
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "contact"]
    response = client_for(scientist).post(
        url("registry:card-preview", version),
        {"_preview": "intended_use", "intended_use": "**bold**", "contact": ""},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert content.startswith("<p><strong>bold</strong></p>")
    assert 'id="card-completeness" hx-swap-oob="true"' in content
    assert "50%" in content and "<li>Contact</li>" in content


def test_the_editor_wires_every_field_to_the_live_preview(scientist, version):
    content = client_for(scientist).get(url("registry:card-edit", version)).content.decode()
    preview = url("registry:card-preview", version)
    assert content.count(f'hx-post="{preview}"') == len(SECTIONS) + 7  # sections and details
    assert 'hx-target="#preview-training_data"' in content


def test_the_pages_refuse_a_locked_card_with_the_services_own_error(scientist, viewer, version):
    """The editor and the import page ask the service (card_edit_check) rather than copying
    its rule: the refusal is the CardLocked card_save raises, word for word."""
    from django.core.exceptions import PermissionDenied

    from registry.services.cards import CardLocked, card_edit_check

    card_edit_check(actor=scientist, version=version)  # editable: nothing raised
    with pytest.raises(PermissionDenied) as denied:
        card_edit_check(actor=viewer, version=version)
    assert not isinstance(denied.value, CardLocked)
    version.production_approved_at = timezone.now()
    version.save()
    with pytest.raises(CardLocked) as saved:
        card_save(actor=scientist, version=version, sections={"contact": "x"})
    with pytest.raises(CardLocked) as checked:
        card_edit_check(actor=scientist, version=version)
    assert str(checked.value) == str(saved.value)
    page = client_for(scientist).get(url("registry:card-edit", version))
    assert page.status_code == 403 and str(saved.value) in page.content.decode()


@pytest.mark.parametrize("how", ["approved", "production"])
def test_a_locked_card_cannot_be_edited_or_imported(scientist, version, how):
    if how == "approved":
        version.production_approved_at = timezone.now()
    else:
        version.stage = Stage.PRODUCTION
    version.save()
    client = client_for(scientist)
    for name in ("registry:card-edit", "registry:card-import"):
        response = client.get(url(name, version))
        assert response.status_code == 403
        assert "locked" in response.content.decode()
    before = AuditEvent.objects.count()
    assert client.post(url("registry:card-edit", version), form_data()).status_code == 403
    readme = SimpleUploadedFile("README.md", b"## Contact\n\nx\n")
    assert client.post(url("registry:card-import", version), {"readme": readme}).status_code == 403
    assert AuditEvent.objects.count() == before
    page = client.get(url("registry:card-detail", version)).content.decode()
    assert "Locked." in page and "Edit the card" not in page


def test_import_rejects_bad_files_and_keeps_the_form(scientist, version):
    client = client_for(scientist)
    cases = [
        (b"---\nlicense: [\n---\n", "not valid YAML"),
        (b"\xff\xfe\x00binary", "UTF-8"),
    ]
    for content, message in cases:
        readme = SimpleUploadedFile("README.md", content)
        response = client.post(url("registry:card-import", version), {"readme": readme})
        assert response.status_code == 400
        assert message in response.content.decode()
    response = client.post(url("registry:card-import", version), {})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not AuditEvent.objects.filter(action="card.import").exists()


def test_import_reports_what_it_did_not_take_and_differing_metrics(scientist, version):
    text = (
        "---\nlicense: mit\nlanguage: en\nmodel-index:\n- name: x\n  results:\n"
        "  - task: {type: other}\n    dataset: {name: overall, type: overall}\n"
        "    metrics:\n    - {type: auc, value: 0.5}\n---\n"
        "## Intended use\n\nScoring.\n\n## Citation\n\nCite us.\n"
    )
    response = client_for(scientist).post(
        url("registry:card-import", version),
        {"readme": SimpleUploadedFile("README.md", text.encode())},
        follow=True,
    )
    content = response.content.decode()
    assert "Imported 1 sections (Intended use) as revision 2" in content
    assert "Not imported: Citation; language." in content
    assert "differ from this version&#x27;s record" in content and "auc" in content
    assert stored_card(version).metadata == {"license": "mit"}
    assert version.metrics.get(name="auc").value == 0.9  # never changed by an import


def test_revisions_are_compared_as_a_diff(scientist, version):
    card_save(actor=scientist, version=version, sections={"contact": "old line\nkept"})
    card_save(actor=scientist, version=version, sections={"contact": "new line\nkept"})
    client = client_for(scientist)
    content = client.get(url("registry:card-revisions", version)).content.decode()
    assert "Changes from r2 to r3" in content
    assert "<del>old line</del>" in content and "<ins>new line</ins>" in content
    content = client.get(url("registry:card-revisions", version, "?a=1&b=3")).content.decode()
    assert "Changes from r1 to r3" in content and "<ins>kept</ins>" in content
    content = client.get(url("registry:card-revisions", version, "?a=x&b=99")).content.decode()
    assert "Changes from r2 to r3" in content  # nonsense falls back to the latest change


def test_readme_export(scientist, version):
    card_save(actor=scientist, version=version, sections={"contact": "ml@bank.example"})
    response = client_for(scientist).get(url("registry:card-export-readme", version))
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="fraud-detector-v1-README.md"'
    assert response.content.decode() == hf_readme(version, stored_card(version))


def test_print_page_and_pdf(scientist, version):
    card_save(
        actor=scientist,
        version=version,
        sections={
            "intended_use": "Flags card payments for review.",
            "risks_limitations": "Drift after holidays. [link](https://example.com/never-fetched)",
        },
        metadata={"developers": "Fraud team", "license": "apache-2.0"},
    )
    client = client_for(scientist)
    page = client.get(url("registry:card-export-html", version)).content.decode()
    assert "<h1>Model card: fraud-detector v1</h1>" in page
    assert "Flags card payments for review." in page
    response = client.get(url("registry:card-export-pdf", version))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="fraud-detector-v1-card.pdf"'
    assert response.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Model card: fraud-detector v1" in text
    for section in SECTIONS:
        assert section.title in text, section.title
    assert "Flags card payments for review." in text and "Fraud team" in text


def test_the_pdf_renderer_fetches_nothing():
    """Even if markup ever reached the PDF with a resource in it, nothing is requested."""
    import http.server
    import threading

    from weasyprint import HTML

    from registry.pdf import _no_fetching

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        pdf = HTML(
            string=f'<img src="{base}/x.png"><link rel="stylesheet" href="{base}/a.css">'
            f'<p style="background: url({base}/b.png)">hi</p><img src="file:///etc/passwd">',
            url_fetcher=_no_fetching(),
            base_url=None,
        ).write_pdf()
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF") and hits == []


def test_a_version_from_before_model_cards_works_everywhere(scientist, model, version):
    from tests.factories import make_version

    ModelCard.objects.filter(model_version=version).delete()  # as if uploaded before cards
    make_version(scientist, model)
    client = client_for(scientist)
    for name in (
        "registry:version-detail",
        "registry:card-detail",
        "registry:card-edit",
        "registry:card-revisions",
        "registry:card-export-readme",
        "registry:card-export-html",
    ):
        assert client.get(url(name, version)).status_code == 200, name
    compare = reverse("registry:compare", args=[model.name]) + "?v=1&v=2"
    assert client.get(compare).status_code == 200
    response = client.post(
        url("registry:card-edit", version), form_data(contact="x", base_revision="0")
    )
    assert response.status_code == 302
    assert stored_card(version).sections == {"contact": "x"}
    assert stored_card(version).revisions.get().number == 1


def test_card_pdf_names_the_signing_key_and_the_tree_head_on_its_first_page(scientist, version):
    from governance import signing
    from governance.models import SignedTreeHead

    response = client_for(scientist).get(url("registry:card-export-pdf", version))
    assert response.status_code == 200
    first = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    first = " ".join(first.split())
    head = SignedTreeHead.objects.latest("id")
    assert head.key_id == signing.current_key_id()
    assert f"Signed with Attest instance key {head.key_id}" in first
    assert f"signed tree head #{head.pk}: {head.tree_size} events" in first
    # The root is printed whole (it may wrap across lines on the page).
    assert head.root_hash in first.replace(" ", "")
    # The head covers every event written before the PDF was made.
    assert head.tree_size == AuditEvent.objects.count()
    # The screen print page is not anchored (it is not a signed file).
    page = client_for(scientist).get(url("registry:card-export-html", version)).content.decode()
    assert "signed tree head" not in page
