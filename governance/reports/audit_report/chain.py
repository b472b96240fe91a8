"""Section 7: the audit chain and the signed transparency log, verified at generation
time."""

from governance import audit, audit_log, transparency
from governance.reports.audit_report.common import BuilderBase


class ChainSection(BuilderBase):
    def verify(self, item) -> str:
        checked, bad, why = audit.verify_chain()
        first_bad = None
        if bad is not None:
            first_bad = f"#{bad.pk}"
            # Say what the event was only if the requester may read it.
            if audit_log.events_visible(self.user).filter(pk=bad.pk).exists():
                first_bad += f" ({bad.action}, {bad.occurred_at.isoformat()})"
        if not why:
            result = "verified: every event matches its hash and links to the one before it"
            fact = f"verified, {checked:,} events"
        else:
            result = f"FAILED: {why}"
            fact = f"FAILED after {checked:,} events" + (
                f" at event {first_bad}: {why}" if first_bad else f": {why}"
            )
        head, log = transparency.head_for_evidence(), transparency.verify_log()
        log_result = (
            f"verified: {log.heads:,} signed tree heads, each head's signature and root match "
            "the events now in the log"
            if not log.problems
            else "FAILED: " + "; ".join(log.problems)
        )
        item.fields(
            [
                ("Verified at", self.now),
                ("Events checked", checked),
                ("Result", result),
                ("First bad event", first_bad or "none"),
                ("Signed tree head covered", f"#{head.pk}: {head.tree_size:,} events"),
                ("Root hash", head.root_hash),
                ("Signed with key", head.key_id),
                ("Signed log verification", log_result),
            ]
        )
        if log.problems:
            fact += f"; signed log FAILED ({len(log.problems)} problems)"
        else:
            fact += f"; signed tree head #{head.pk} ({head.tree_size:,} events) verified"
        self.fact_row(
            "audit_chain",
            self.now,
            None,
            None,
            "audit.verify",
            self.user.get_username(),
            "verified" if not why and not log.problems else "failed",
            f"{checked} events checked" + (f"; first bad event {first_bad}: {why}" if why else ""),
        )
        return fact
