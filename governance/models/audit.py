"""The audit trail: append-only, hash-chained events."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One write, by whom, from where, with the state before and after.

    The actor is kept as an id without a database constraint plus a text copy of the
    username, so deleting a user neither cascades nor rewrites history.
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    # Plain ids (no FK) so the history outlives the rows it describes.
    registered_model_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    model_version_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=16)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time"),
            # "Everything this person did", newest first: the audit log's actor filter
            # reads one index range in id order instead of walking the whole trail.
            models.Index(fields=["actor_username", "id"], name="audit_actor_name_id"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.target_repr} by {self.actor_username or 'system'}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditChainHead(models.Model):
    """A single row holding the newest event's hash; locking it serialises appends."""

    last_event_id = models.BigIntegerField(null=True)
    last_hash = models.CharField(max_length=64)

    def __str__(self):
        return f"audit chain head at event {self.last_event_id}"


class TreeHeadQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Signed tree heads cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Signed tree heads cannot be deleted.")


class SignedTreeHead(models.Model):
    """A signed statement: "the audit log's first `tree_size` events have this Merkle root
    (RFC 6962), as of `signed_at`", made with the instance key `key_id`. Append-only.

    `statement()` is the exact text signed; the offline verifier rebuilds it the same way."""

    tree_size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)
    # Not signed: where the next head starts, so signing reads only the new events. A wrong
    # value only makes the next head's root wrong, which verify_audit reports.
    last_event_id = models.BigIntegerField(null=True)
    frontier = models.JSONField(default=list)  # [[subtree size, root hex], ...]
    # An RFC 3161 time-stamp token (base64 DER) over SHA-256 of statement(), when a
    # time-stamping authority is configured (governance.timestamping).
    timestamp_token = models.TextField(blank=True, default="")

    objects = TreeHeadQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"tree head #{self.pk}: {self.tree_size} events, root {self.root_hash[:12]}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("Signed tree heads cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Signed tree heads cannot be deleted.")

    def statement(self) -> bytes:
        return tree_head_statement(self.tree_size, self.root_hash, self.signed_at, self.key_id)

    def as_json(self) -> dict:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "signed_at": _utc_text(self.signed_at),
            "key_id": self.key_id,
            "signature": self.signature,
        }


def _utc_text(moment) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tree_head_statement(tree_size: int, root_hash: str, signed_at, key_id: str) -> bytes:
    """The text a tree head's signature covers (governance/reports/verify.py builds the
    same): five lines, UTF-8, each ending in a newline."""
    when = signed_at if isinstance(signed_at, str) else _utc_text(signed_at)
    return (
        f"attest audit log v1\nsize {tree_size}\nroot {root_hash}\ntime {when}\nkey {key_id}\n"
    ).encode()
