"""Documents generated from the registry: instructions for use (Art. 13(3)), the EU
declaration of conformity (Annex V), and the retention date (Art. 18)."""

from datetime import date

import pytest

from aisystems import documents
from aisystems.registers.services import entry_create, entry_update
from aisystems.registers.specs import BY_KIND
from aisystems.services import system_update
from aisystems.techdoc import FILLED, MISSING, NOT_APPLICABLE
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ART_13_3 = ["13(3)(a)"] + [f"13(3)(b)({n})" for n in ("i", "ii", "iii", "iv", "v", "vi", "vii")]
ART_13_3 += ["13(3)(c)", "13(3)(d)", "13(3)(e)", "13(3)(f)"]


def test_instructions_for_use_follow_article_13(system, scientist):
    items = documents.instructions_for_use(scientist, system)
    assert [i.point for i in items] == ART_13_3
    by_point = {i.point: i for i in items}
    assert by_point["13(3)(a)"].status == FILLED
    assert "Attest Bank SA" in by_point["13(3)(a)"].text[0]
    assert by_point["13(3)(b)(vi)"].status == MISSING
    assert all(i.fill for i in items if i.status == MISSING)
    system = system_update(
        actor=scientist, system=system, data={"input_specification": "42 features"}
    )
    items = documents.instructions_for_use(scientist, system)
    assert {i.point: i for i in items}["13(3)(b)(vi)"].text == ["42 features"]
    page = client_for(scientist).get(f"/ai-systems/{system.pk}/instructions-for-use/")
    assert page.status_code == 200 and "42 features" in page.content.decode()


def test_the_declaration_follows_annex_v(system, scientist):
    spec = BY_KIND["conformity"]
    entry = entry_create(
        actor=scientist,
        spec=spec,
        system=system,
        data={"title": "Annex VI", "route": "annex_vi", "standards": "ISO/IEC 42001"},
    )
    items = documents.declaration(scientist, system, entry)
    assert [i.point for i in items] == [str(n) for n in range(1, 9)]
    by_point = {i.point: i for i in items}
    assert by_point["7"].status == NOT_APPLICABLE and by_point["7"].reason
    assert by_point["8"].status == MISSING
    entry = entry_update(
        actor=scientist,
        spec=spec,
        entry=entry,
        data={"declaration_signed_on": date(2026, 3, 1), "declaration_signatory": "A. Chief, CEO"},
    )
    items = documents.declaration(scientist, system, entry)
    assert {i.point: i for i in items}["8"].text == ["Signed on 2026-03-01 by A. Chief, CEO."]
    url = f"/ai-systems/{system.pk}/registers/conformity/{entry.pk}/declaration/"
    page = client_for(scientist).get(url).content.decode()
    assert "sole responsibility of Attest Bank SA" in page and "ISO/IEC 42001" in page


def test_retention_runs_from_placing_on_the_market(system, scientist):
    assert system.retention_until is None
    system = system_update(
        actor=scientist,
        system=system,
        data={"market_status": "placed_on_market", "placed_on_market_on": date(2024, 2, 29)},
    )
    assert system.retention_until == date(2034, 2, 28)
    page = client_for(scientist).get(system.get_absolute_url()).content.decode()
    assert "until <strong>2034-02-28</strong>" in page
