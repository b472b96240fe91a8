"""Model cards: one per version, the current text plus every saved revision.

The sections (and what each means) are defined in registry/cards/schema.py; here they are plain
JSON: `sections` maps a section key to its markdown, `metadata` holds the structured model
details (developers, model type, licence, base model, tags, datasets) that the Hugging Face
export puts in its front matter. Writes go through registry/services/cards.py.
"""

from django.conf import settings
from django.db import models

from governance.access import RestrictedManager
from registry.models.records import ModelVersion


class ModelCard(models.Model):
    guarded_path = "model_version__registered_model"

    model_version = models.OneToOneField(
        ModelVersion, on_delete=models.CASCADE, related_name="card"
    )
    sections = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Copied from an earlier version's card and not edited since.
    carried_over = models.BooleanField(default=False)
    carried_from_version = models.PositiveIntegerField(null=True, blank=True)
    revision_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager()

    def __str__(self):
        return f"Model card of {self.model_version}"

    def get_absolute_url(self):
        from django.urls import reverse

        version = self.model_version
        return reverse(
            "registry:card-detail", args=[version.registered_model.name, version.version]
        )


class ModelCardRevision(models.Model):
    """A saved state of a card. Rows are only ever added."""

    guarded_path = "card__model_version__registered_model"

    class Source(models.TextChoices):
        CREATED = "created", "Started empty"
        CARRIED_OVER = "carried_over", "Carried over"
        EDIT = "edit", "Edited"
        IMPORT = "import", "Imported from README.md"

    card = models.ForeignKey(ModelCard, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    sections = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.EDIT)
    note = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so removing the account loses nothing.
    author_username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["card", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["card", "number"], name="uniq_card_revision")
        ]

    def __str__(self):
        return f"{self.card.model_version} card r{self.number}"
