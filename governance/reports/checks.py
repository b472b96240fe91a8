"""System checks for report retention: the EU AI Act keeps logs at least six months
(Art. 19) and technical documentation ten years (Art. 18)."""

from django.conf import settings
from django.core import checks

MIN_LOG_DAYS = 183


@checks.register()
def check_report_retention(app_configs=None, **kwargs):
    problems = []
    for name in ("ATTEST_REPORT_RETENTION_DAYS_LOGS", "ATTEST_REPORT_RETENTION_DAYS_DOCUMENTATION"):
        days = getattr(settings, name)
        if days < MIN_LOG_DAYS:
            problems.append(
                checks.Error(
                    f"{name} is {days} days; reports must be kept at least {MIN_LOG_DAYS} days.",
                    hint="Raise REPORT_RETENTION_DAYS_LOGS / _DOCUMENTATION.",
                    id="governance.E010",
                )
            )
    if settings.ATTEST_REPORT_RETENTION_DAYS_DOCUMENTATION < 3652:
        problems.append(
            checks.Warning(
                "Technical documentation is kept less than 10 years "
                "(REPORT_RETENTION_DAYS_DOCUMENTATION); the EU AI Act asks for 10.",
                id="governance.W010",
            )
        )
    return problems
