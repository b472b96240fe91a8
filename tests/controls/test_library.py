"""The control library: every file validates, every crosswalk end exists, loading is
idempotent and audited."""

import shutil

import pytest
import yaml

from controls import library
from controls.models import Control, Framework
from governance.models import AuditEvent


def test_the_shipped_library_validates():
    assert library.validate() == []


def test_every_framework_names_its_source_version_and_url():
    for path in library.framework_files():
        data = library.read(path)
        assert data["source"] and data["version"] and data["url"].startswith("https://")


def test_nist_ai_rmf_has_every_subcategory_of_ai_100_1():
    data = library.read(library.LIBRARY / "nist_ai_rmf.yaml")
    refs = [c["ref"] for c in data["controls"]]
    counts = {
        f: sum(r.startswith(f + " ") for r in refs) for f in ("GOVERN", "MAP", "MEASURE", "MANAGE")
    }
    # AI 100-1 Tables 1-4: 19 GOVERN, 18 MAP, 22 MEASURE, 13 MANAGE subcategories.
    assert counts == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}


def test_iso_42001_annex_a_holds_its_38_controls():
    data = library.read(library.LIBRARY / "iso_iec_42001.yaml")
    refs = [c["ref"] for c in data["controls"]]
    assert len(refs) == 38 and refs[0] == "A.2.2" and refs[-1] == "A.10.4"


def test_eu_ai_act_lists_the_articles_the_issue_names():
    data = library.read(library.LIBRARY / "eu_ai_act.yaml")
    articles = {int(c["ref"].split()[1]) for c in data["controls"]}
    assert articles == {9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 26, 27, 43, 47, 48, 49, 72, 73}


@pytest.fixture
def copy(tmp_path):
    root = tmp_path / "library"
    shutil.copytree(library.LIBRARY, root)
    return root


def _edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_crosswalk_end_that_does_not_exist_is_refused(copy):
    _edit(
        copy / "crosswalk.yaml", lambda d: d["links"].append(["iso-42001 A.99", "eu-ai-act Art. 9"])
    )
    assert library.validate(copy) == ["crosswalk.yaml: no control 'iso-42001 A.99'"]


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda d: d.pop("url"), "missing url"),
        (lambda d: d["controls"][0].update(evidence=[{"kind": "vibes"}]), "unknown evidence rule"),
        (
            lambda d: d["controls"][0].update(
                evidence=[{"kind": "card_section", "sections": ["nope"]}]
            ),
            "no card section 'nope'",
        ),
        (lambda d: d["controls"][1].update(ref=d["controls"][0]["ref"]), "appears twice"),
        (lambda d: d["controls"][0].pop("title"), "title must be a non-empty string"),
    ],
)
def test_a_framework_file_that_breaks_the_schema_is_refused(copy, change, problem):
    _edit(copy / "eu_ai_act.yaml", change)
    problems = library.validate(copy)
    own = [p for p in problems if p.startswith("eu_ai_act.yaml")]
    assert any(problem in p for p in own), problems


def test_loading_is_idempotent_and_audited(db, copy):
    assert set(library.load(root=copy)) == {"eu-ai-act", "nist-ai-rmf", "iso-42001", "sr-11-7"}
    loads = AuditEvent.objects.filter(action="controls.library_load").count()
    assert loads == 4 and AuditEvent.objects.filter(action="controls.crosswalk_load").count() == 1
    assert Control.objects.count() == 19 + 18 + 22 + 13 + 38 + 18 + 17
    art9 = Control.objects.get(framework__key="eu-ai-act", ref="Art. 9")
    assert {str(c.framework.key) + " " + c.ref for c in art9.related.all()} >= {
        "nist-ai-rmf MAP 5.1",
        "iso-42001 A.5.2",
    }

    assert library.load(root=copy) == []
    assert AuditEvent.objects.filter(action__startswith="controls.").count() == 5

    _edit(copy / "sr_11_7.yaml", lambda d: d["controls"].pop(14))  # VI.5, in no crosswalk link
    assert library.load(root=copy) == ["sr-11-7"]
    event = AuditEvent.objects.filter(action="controls.library_load").order_by("pk").last()
    assert event.after["removed"] == 1
    assert Framework.objects.get(key="sr-11-7").controls.count() == 16


def test_the_command_loads_and_checks(db):
    from django.core.management import call_command

    call_command("load_controls", "--check")
    assert not Framework.objects.exists()
    call_command("load_controls")
    assert Framework.objects.count() == 4
