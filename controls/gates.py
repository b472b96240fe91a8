"""The model risk management promotion gate: a version cannot be promoted while its model
has an open high-severity validation finding (SR 11-7 V). Registered in governance's
EXTRA_GATES, which governance/policy.py evaluates for every transition.

The approval queue evaluates the gates of every request it lists, so the open findings are
read once per request (one query, memoised under the request id of
governance.request_context) rather than once per version. Outside a request (a shell, a
test) every call has a fresh id and reads again."""

import contextvars

from controls.models import Finding
from governance import request_context
from governance.policy import EXTRA_GATES, Gate

NAME = "No open high-severity validation finding"
_memo: contextvars.ContextVar = contextvars.ContextVar("controls_open_high", default=(None, {}))


def open_high_findings() -> dict:
    """Model id -> titles of its open high-severity findings."""
    request_id = request_context.current().request_id
    key, found = _memo.get()
    if key == request_id:
        return found
    found = {}
    rows = Finding.objects.filter(status=Finding.Status.OPEN, severity=Finding.Severity.HIGH)
    for model_id, title in rows.values_list("registered_model_id", "title"):
        found.setdefault(model_id, []).append(title)
    _memo.set((request_id, found))
    return found


def open_high_findings_gate(version, snapshot) -> Gate:
    titles = open_high_findings().get(version.registered_model_id)
    if titles:
        return Gate(NAME, False, f"open high-severity finding: {', '.join(titles)}")
    return Gate(NAME, True, "no open high-severity finding")


EXTRA_GATES["validation_findings"] = open_high_findings_gate
