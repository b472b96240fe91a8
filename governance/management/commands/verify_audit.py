from django.core.management.base import BaseCommand, CommandError

from governance import transparency
from governance.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit trail: recompute the hash chain, check every signed tree head's "
        "signature, and recompute every head's Merkle root from the events now in the log. "
        "Exits non-zero naming each problem."
    )

    def handle(self, *args, **options):
        problems = []
        checked, bad, why = verify_chain()
        if bad is not None:
            when = bad.occurred_at.strftime("%Y-%m-%d %H:%M:%S")
            problems.append(
                f"Audit chain broken at event #{bad.pk} ({bad.action}, {when}): {why}. "
                f"{checked} events before it verified."
            )
        elif why:
            problems.append(f"Audit chain broken after {checked} events: {why}.")
        log = transparency.verify_log()
        problems += [f"Audit log: {p}." for p in log.problems]
        if problems:
            raise CommandError("\n".join(problems))
        latest = transparency.latest_tree_head()
        signed = (
            f"{log.heads} signed tree heads verified ({log.timestamped} time-stamped by the "
            f"TSA); the latest covers {latest.tree_size} events (root "
            f"{latest.root_hash[:16]}…, key {latest.key_id})"
            if latest
            else "no signed tree head yet (manage.py sign_tree_head signs one)"
        )
        witnessed = (
            f" The witness holds {log.witnessed} heads, all matching."
            if log.witnessed is not None
            else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {checked} events verified. {signed}.{witnessed}"
            )
        )
