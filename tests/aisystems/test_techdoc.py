"""The technical documentation of an AI system walks EU AI Act Annex IV: every point is
there, each item filled, missing with what fills it, or not applicable with the reason.
The demo's high-risk system is worked end to end."""

import re

import pytest
from django.contrib.auth.models import User

from aisystems import techdoc
from aisystems.demo import NAME
from aisystems.models import AISystem, Incident, MetricObservation, RiskEntry
from config.celery import app
from governance.audit import verify_chain
from governance.demo import create_demo
from tests.conftest import client_for

# Annex IV of Regulation (EU) 2024/1689, written out here (not read from the module): the
# general description's points 1(a)-(h), the development's 2(a)-(h), then points 3 to 9.
ANNEX_IV_POINTS = (
    [f"1({c})" for c in "abcdefgh"]
    + [f"2({c})" for c in "abcdefgh"]
    + [str(n) for n in range(3, 10)]
)


def _check_every_point(items):
    points = [i.point for i in items]
    assert [p for p in ANNEX_IV_POINTS if p not in points] == [], "absent Annex IV points"
    assert [p for p in points if p not in ANNEX_IV_POINTS] == [], "unknown points"
    assert points == sorted(points, key=ANNEX_IV_POINTS.index), "not in Annex IV's order"
    for item in items:
        assert item.status in (techdoc.FILLED, techdoc.MISSING, techdoc.NOT_APPLICABLE)
        if item.status == techdoc.FILLED:
            assert item.text and item.source, item.point
        if item.status == techdoc.MISSING:
            assert item.fill, f"{item.point} is missing without saying what fills it"
        if item.status == techdoc.NOT_APPLICABLE:
            assert item.reason, f"{item.point} is not applicable without a reason"


@pytest.mark.django_db
def test_a_new_system_says_what_fills_each_point(system, scientist):
    items = techdoc.build(scientist, system)
    _check_every_point(items)
    by_point = {i.point: i for i in items}
    assert by_point["1(f)"].status == techdoc.NOT_APPLICABLE  # not an Annex I product
    assert by_point["8"].status == techdoc.NOT_APPLICABLE  # not high-risk (yet)
    assert "Data governance register" in by_point["2(d)"].fill
    assert "Risk register" in by_point["5"].fill
    done, total = techdoc.completeness(items)
    assert total == len(items) and done < total


def test_the_demo_system_is_worked_end_to_end(transactional_db, settings):
    settings.ATTEST_DEFAULT_APPROVER_GROUPS = ["Approvers", "Compliance"]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        create_demo()
    finally:
        app.conf.task_always_eager = eager
    system = AISystem.objects.get(name=NAME)
    assert system.risk_class == "high" and system.classifications.get().result_class == "high"
    assert RiskEntry.objects.filter(system=system, source="").count() == 2
    breach = MetricObservation.objects.get(breach=True)
    assert breach.review is not None and breach.review.system == system
    incident = Incident.objects.get(system=system)
    assert not incident.overdue and incident.deadline_days == 15
    auditor = User.objects.get(username="aude")
    items = techdoc.build(auditor, system)
    _check_every_point(items)
    by_point = {i.point: i for i in items}
    for point in (
        "1(a)",
        "1(b)",
        "1(c)",
        "1(d)",
        "1(e)",
        "1(g)",
        "1(h)",
        "2(d)",
        "2(f)",
        "2(h)",
        "5",
        "6",
        "7",
        "9",
    ):
        assert by_point[point].status == techdoc.FILLED, (point, by_point[point].fill)
    # No Python None leaks into the document ("Stage None", "thresholds None to 0.05").
    texts = [t for i in items for t in i.text]
    assert [t for t in texts if re.search(r"\bNone\b", t)] == []
    # Conformity is in progress: the declaration is missing, and says what fills it.
    assert by_point["8"].status == techdoc.MISSING
    assert "Conformity register" in by_point["8"].fill
    page = client_for(auditor).get(f"/ai-systems/{system.pk}/technical-documentation/")
    assert page.status_code == 200
    done, total = techdoc.completeness(items)
    assert f"{done} of {total}" in page.content.decode()
    checked, bad, why = verify_chain()
    assert bad is None, why
