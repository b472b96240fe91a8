"""The demo's high-risk system shows readiness against all four frameworks: some controls
met from registry evidence, some by manual evidence, one not applicable, some gaps."""

from django.contrib.auth.models import User

from aisystems.demo import NAME
from aisystems.models import AISystem
from config.celery import app
from controls.evaluation import all_readiness
from controls.rules import MET, NOT_APPLICABLE
from governance.demo import create_demo


def test_the_demo_system_has_readiness_in_all_four_frameworks(transactional_db, settings):
    settings.ATTEST_DEFAULT_APPROVER_GROUPS = ["Approvers", "Compliance"]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        create_demo()
    finally:
        app.conf.task_always_eager = eager
    system = AISystem.objects.get(name=NAME)
    results = {r.framework.key: r for r in all_readiness(system)}
    assert set(results) == {"eu-ai-act", "nist-ai-rmf", "iso-42001", "sr-11-7"}
    from_rules = manual = 0
    for result in results.values():
        assert result.counts[MET] and result.gaps
        for r in result.results:
            if r.status == MET and "manual" in r.kinds:
                manual += 1
            elif r.status == MET:
                from_rules += 1
    assert from_rules >= 5 and manual >= 4
    assert results["sr-11-7"].counts[NOT_APPLICABLE] == 1
    assert User.objects.filter(username="sam").exists()
