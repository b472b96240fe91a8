"""The "Annex IV items present" approval gate, for the policies that name required items
(by default the Production policy of high-risk models: governance/roles.py). Importing
this module registers it with the policy (governance.apps imports it when the app is
ready), as governance/card_gate.py does.

It reads the one Annex IV figure (`governance.reports.techdoc.annex_iv_completeness`,
the version's technical documentation as the record stands), so the gate, the document's
cover and the inventory cannot disagree. A key the documentation does not have counts as
missing: a typo in a policy fails closed."""

from governance.policy import EXTRA_GATES, Gate
from governance.reports.techdoc import LAYOUT, annex_iv_completeness
from governance.reports.techdoc.figure import completeness_text

GATE_NAME = "Annex IV items present"
KNOWN_ITEMS = {key for _, items in LAYOUT for key in items}


def annex_iv_gate(version, snapshot: dict) -> Gate:
    required = snapshot.get("required_annex_iv_items") or []
    figure = annex_iv_completeness(version)
    missing_by_key = {m["item"]: m for m in figure["missing"]}
    lacking = []
    for key in required:
        if key not in KNOWN_ITEMS:
            lacking.append(f"{key} (no such item in the technical documentation)")
        elif key in missing_by_key:
            m = missing_by_key[key]
            lacking.append(f"{m['number']} {m['title']} ({m['fill']})")
    text = completeness_text(figure)
    if lacking:
        return Gate(GATE_NAME, False, f"{text}; required but missing: " + "; ".join(lacking))
    return Gate(GATE_NAME, True, f"{text}; all {len(required)} required items are present")


EXTRA_GATES["annex_iv"] = annex_iv_gate
