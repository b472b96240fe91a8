"""The model risk management promotion gate: a version cannot be promoted while its model
has an open high-severity validation finding (SR 11-7 V). Registered in governance's
EXTRA_GATES, which governance/policy.py evaluates for every transition."""

from controls.models import Finding
from governance.policy import EXTRA_GATES, Gate


def open_high_findings_gate(version, snapshot) -> Gate:
    open_high = list(
        Finding.objects.filter(
            registered_model_id=version.registered_model_id,
            status=Finding.Status.OPEN,
            severity=Finding.Severity.HIGH,
        ).values_list("title", flat=True)
    )
    if open_high:
        return Gate(
            "No open high-severity validation finding",
            False,
            f"open high-severity finding: {', '.join(open_high)}",
        )
    return Gate("No open high-severity validation finding", True, "no open high-severity finding")


EXTRA_GATES["validation_findings"] = open_high_findings_gate
