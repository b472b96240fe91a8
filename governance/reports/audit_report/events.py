"""Sections 2 (emergency rollbacks), 5 (grant changes) and 6 (downloads), filled in one
pass over the audit events the requester may read."""

from governance import audit_log
from governance.reports.audit_report.common import (
    BATCH_SIZE,
    DOWNLOAD_ACTIONS,
    DOWNLOAD_COLUMNS,
    DOWNLOAD_LABELS,
    GRANT_ACTIONS,
    GRANT_COLUMNS,
    ROLLBACK,
    ROLLBACK_COLUMNS,
    BuilderBase,
)
from registry.models import ModelVersion, RegisteredModel


class EventSections(BuilderBase):
    def events(self):
        events = self.period.events(audit_log.events_visible(self.user))
        if self.narrowed:
            events = events.filter(registered_model_id__in=self.models.values("pk"))
        return events.filter(action__in=(ROLLBACK, *GRANT_ACTIONS, *DOWNLOAD_ACTIONS))

    def event_batches(self):
        """Keyset batches in id (chain) order; each batch with the names of its models and
        the numbers of its versions (two queries per batch)."""
        events = self.events()
        last_id = 0
        while True:
            batch = list(events.filter(id__gt=last_id).order_by("id")[:BATCH_SIZE])
            if not batch:
                return
            model_ids = {e.registered_model_id for e in batch if e.registered_model_id}
            version_ids = {e.model_version_id for e in batch if e.model_version_id}
            names = dict(RegisteredModel.objects.filter(pk__in=model_ids).values_list("pk", "name"))
            numbers = dict(
                ModelVersion.objects.filter(pk__in=version_ids).values_list("pk", "version")
            )
            yield batch, names, numbers
            if len(batch) < BATCH_SIZE:
                return
            last_id = batch[-1].id

    def walk_events(self, rollbacks, grants, downloads):
        rows = {"rollbacks": [], "grants": [], "downloads": []}
        for batch, names, numbers in self.event_batches():
            for event in batch:
                after = event.after if isinstance(event.after, dict) else {}
                before = event.before if isinstance(event.before, dict) else {}
                seen = {
                    "model": names.get(event.registered_model_id) or after.get("model"),
                    "version": numbers.get(event.model_version_id) or after.get("version"),
                    "actor": event.actor_username or "system",
                    "before": before,
                    "after": after,
                }
                if event.action == ROLLBACK:
                    rows["rollbacks"].append(self._rollback(event, **seen))
                elif event.action in GRANT_ACTIONS:
                    rows["grants"].append(self._grant(event, **seen))
                else:
                    rows["downloads"].append(self._download(event, **seen))
        rollbacks.table(
            ROLLBACK_COLUMNS, rows["rollbacks"], empty="No emergency rollback in this period."
        )
        grants.table(GRANT_COLUMNS, rows["grants"], empty="No grant changes in this period.")
        downloads.table(DOWNLOAD_COLUMNS, rows["downloads"], empty="No downloads in this period.")
        self.counts.update({key: len(found) for key, found in rows.items()})

    def _rollback(self, event, *, model, version, actor, before, after) -> list:
        """An emergency rollback and the status of the post-hoc review it opened."""
        review = after.get("review_request")
        review_text = None
        if review:
            review_text = f"#{review}"
            if review in self.review_status:
                review_text += f" ({self.review_status[review].lower()})"
        archived = ", ".join(f"v{n}" for n in after.get("archived") or []) or None
        self.fact_row(
            "emergency",
            event.occurred_at,
            model,
            after.get("production"),
            event.action,
            actor,
            f"v{before.get('production')} -> v{after.get('production')}",
            f"{after.get('reason')}; review {review_text or 'none'}",
        )
        return [
            event.occurred_at,
            model,
            f"v{before.get('production')}",
            f"v{after.get('production')}",
            archived,
            actor,
            after.get("reason"),
            review_text,
        ]

    def _grant(self, event, *, model, version, actor, before, after) -> list:
        change = after if event.action == "grant.assign" else before
        verb = "granted" if event.action == "grant.assign" else "revoked"
        self.fact_row(
            "grants",
            event.occurred_at,
            model,
            None,
            event.action,
            actor,
            verb,
            f"{change.get('permission')} {'to' if verb == 'granted' else 'from'} "
            f"{change.get('to')}",
        )
        return [event.occurred_at, model, verb, change.get("permission"), change.get("to"), actor]

    def _download(self, event, *, model, version, actor, before, after) -> list:
        what = DOWNLOAD_LABELS.get(event.action, event.action)
        if event.action == "audit.export":
            # The export's filters are what someone typed: only the format.
            name = f"{after.get('format', '')} export".strip()
        else:
            name = (
                after.get("path") or after.get("file") or after.get("filename") or event.target_repr
            )
        self.fact_row(
            "downloads",
            event.occurred_at,
            model,
            version,
            event.action,
            actor,
            "downloaded",
            f"{what}: {name}" + (f" (sha256 {after['sha256']})" if after.get("sha256") else ""),
        )
        return [
            event.occurred_at,
            what,
            model,
            version,
            name,
            after.get("sha256"),
            actor,
            event.client_ip,
        ]
