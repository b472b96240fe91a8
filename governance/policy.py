"""Which approval policy applies, and the gates a version must pass before it moves."""

from dataclasses import dataclass

from governance.models import ApprovalPolicy
from governance.models.lifecycle import RISK_ANY

# Gates that other parts of the system plug in: name -> callable(version, policy) -> Gate.
# The model-card gate registers itself here when model cards are installed (and runs when
# the policy asks for it), and the Annex IV gate (governance/annex_gate.py) as "annex_iv"
# (when the policy names required items); every other gate here runs for every transition
# (controls/gates.py: no promotion while a high-severity validation finding is open).
EXTRA_GATES: dict[str, object] = {}


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    reason: str


def policy_for(target_stage: str, risk_class: str) -> ApprovalPolicy | None:
    return policies_for([target_stage], risk_class)[target_stage]


def policies_for(target_stages, risk_class: str) -> dict[str, ApprovalPolicy | None]:
    """The policy of each target stage for this risk class (its own, else the "any" one),
    read together: two queries however many stages."""
    policies = ApprovalPolicy.objects.filter(
        target_stage__in=list(target_stages), risk_class__in=[risk_class, RISK_ANY]
    ).prefetch_related("required_groups")
    by_key = {(p.target_stage, p.risk_class): p for p in policies}
    return {
        stage: by_key.get((stage, risk_class)) or by_key.get((stage, RISK_ANY))
        for stage in target_stages
    }


def policy_snapshot(policy: ApprovalPolicy | None) -> dict:
    if policy is None:
        return {
            "required_approvals": 1,
            "required_groups": [],
            "required_metrics": [],
            "require_model_card": False,
            "required_annex_iv_items": [],
            "require_risk_class": True,
            "sla_hours": 72,
            "policy": "built-in fallback",
        }
    return {
        "policy": str(policy),
        "required_approvals": policy.required_approvals,
        "required_groups": sorted(g.name for g in policy.required_groups.all()),
        "required_metrics": policy.metric_names,
        "require_model_card": policy.require_model_card,
        "required_annex_iv_items": policy.annex_iv_item_keys,
        "require_risk_class": policy.require_risk_class,
        "sla_hours": policy.sla_hours,
    }


def merge_policies(opened: dict, current: dict) -> dict:
    """The stricter of two policy snapshots, term by term: more approvals, every required
    group and metric of either, each gate either asks for, the shorter SLA."""
    metrics = list(opened.get("required_metrics", []))
    metrics += [m for m in current.get("required_metrics", []) if m not in metrics]
    items = list(opened.get("required_annex_iv_items", []))
    items += [k for k in current.get("required_annex_iv_items", []) if k not in items]
    merged = {
        "required_approvals": max(
            opened.get("required_approvals", 1), current.get("required_approvals", 1)
        ),
        "required_groups": sorted(
            set(opened.get("required_groups", [])) | set(current.get("required_groups", []))
        ),
        "required_metrics": metrics,
        "require_model_card": bool(
            opened.get("require_model_card") or current.get("require_model_card")
        ),
        "required_annex_iv_items": items,
        "require_risk_class": bool(
            opened.get("require_risk_class", True) or current.get("require_risk_class", True)
        ),
        "sla_hours": min(opened.get("sla_hours", 72), current.get("sla_hours", 72)),
    }
    stricter = any(merged[k] != opened.get(k, merged[k]) for k in merged)
    merged["policy"] = opened.get("policy", "")
    if stricter:
        merged["policy"] = f"{opened.get('policy', 'as opened')} and {current.get('policy', '')}"
    merged["stricter_than_opened"] = stricter
    return merged


def current_policies() -> dict:
    """Every policy by (target stage, risk class), read once: for pages that compute the
    effective policy of many requests (the approval queue)."""
    return {
        (p.target_stage, p.risk_class): p
        for p in ApprovalPolicy.objects.prefetch_related("required_groups")
    }


def effective_policy(request, *, policies: dict | None = None) -> dict:
    """What a transition request must satisfy now: the stricter of the snapshot it was
    opened under and the policy in force for its model's current risk class. A rise of
    the risk class, or a stricter policy, applies to requests already open; nothing that
    happened after opening (a policy edit, a lowered risk class) can weaken one."""
    risk = request.model_version.registered_model.risk_class
    if policies is None:
        policy = policy_for(request.target_stage, risk)
    else:
        policy = policies.get((request.target_stage, risk)) or policies.get(
            (request.target_stage, RISK_ANY)
        )
    return merge_policies(request.policy, policy_snapshot(policy))


def _scan_label(artifact) -> str:
    if artifact.scan_status == "clean":
        return "clean verdict with findings: re-scan it"
    return artifact.get_scan_status_display().lower()


def evaluate_gates(version, snapshot: dict) -> list[Gate]:
    artifacts = list(version.artifacts.all())
    unhashed = [a.path for a in artifacts if len(a.sha256) != 64]
    gates = [
        Gate(
            "Artifacts hashed",
            bool(artifacts) and not unhashed,
            "every artifact has a SHA-256"
            if artifacts and not unhashed
            else (
                "the version has no artifacts"
                if not artifacts
                else f"no hash for {', '.join(unhashed)}"
            ),
        )
    ]
    # Only "clean" with nothing found, or "not a pickle", passes: flagged, scan failed and
    # pending block, and so does a "clean" left by an older scanner that listed findings.
    not_clean = [
        f"{a.path} ({_scan_label(a)})"
        for a in artifacts
        if not (
            a.scan_status == "not_applicable" or (a.scan_status == "clean" and not a.scan_findings)
        )
    ]
    gates.append(
        Gate(
            "Artifacts scanned clean",
            not not_clean,
            "no artifact is flagged or waiting for its scan"
            if not not_clean
            else f"not clean yet: {', '.join(not_clean)}",
        )
    )
    required = snapshot.get("required_metrics", [])
    if required:
        present = {m.name for m in version.metrics.all()}
        missing = [m for m in required if m not in present]
        gates.append(
            Gate(
                "Required metrics present",
                not missing,
                f"reports {', '.join(required)}"
                if not missing
                else f"missing {', '.join(missing)}",
            )
        )
    if snapshot.get("require_risk_class", True):
        risk = version.registered_model.risk_class
        gates.append(
            Gate(
                "Risk class set",
                risk != "unclassified",
                f"risk class is {risk}"
                if risk != "unclassified"
                else "set the model's risk class first",
            )
        )
    if snapshot.get("require_model_card"):
        card_gate = EXTRA_GATES.get("model_card")
        gates.append(
            card_gate(version, snapshot)
            if card_gate
            else Gate("Model card complete", False, "model cards are not available yet")
        )
    if snapshot.get("required_annex_iv_items"):
        annex_gate = EXTRA_GATES.get("annex_iv")
        gates.append(
            annex_gate(version, snapshot)
            if annex_gate
            else Gate("Annex IV items present", False, "the technical documentation is absent")
        )
    # Gates other apps add for every transition (the card's and Annex IV's are asked for above).
    gates.extend(
        gate(version, snapshot)
        for name, gate in EXTRA_GATES.items()
        if name not in ("model_card", "annex_iv")
    )
    return gates


def failing(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if not g.passed]
