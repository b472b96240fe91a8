"""Forms for the lifecycle pages. They check the shape of the input; the services decide."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from governance import access
from governance.models import ComplianceDocument, Decision
from governance.models.lifecycle import GATED_STAGES
from registry.models import RiskClass


def _text(label, *, rows=3, required_message, help_text="", max_length=None):
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        max_length=max_length,
        error_messages={"required": required_message},
    )


class _Form(forms.Form):
    """Ids are prefixed per form (`id_<prefix>_<field>`) so several forms share a page;
    field names stay plain, so the error page posts the same data."""

    id_prefix = "gov"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class TransitionRequestForm(_Form):
    id_prefix = "request"
    target_stage = forms.ChoiceField(label="Target stage", choices=GATED_STAGES)
    justification = _text(
        "Justification",
        rows=4,
        required_message="A justification is required.",
        help_text="Why this version should move: what changed, what was checked.",
    )
    archive_previous = forms.BooleanField(
        label="Archive the current Production version",
        required=False,
        initial=True,
        help_text="Only for Production: the version it replaces moves to Archived.",
    )

    def __init__(self, *args, current_stage: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if current_stage:  # the first choice left is the next step up
            self.fields["target_stage"].choices = [c for c in GATED_STAGES if c[0] != current_stage]


class ArchiveForm(_Form):
    id_prefix = "archive"
    reason = _text("Reason for archiving", required_message="A reason is required.")


class AliasForm(_Form):
    id_prefix = "alias"
    alias = forms.CharField(
        label="Alias",
        max_length=128,
        help_text="Letters, digits, dashes or underscores, e.g. challenger.",
        error_messages={"required": "Name the alias."},
    )
    version = forms.IntegerField(
        label="Version number", min_value=1, error_messages={"required": "Choose a version."}
    )


class AliasDeleteForm(_Form):
    id_prefix = "alias_delete"
    alias = forms.CharField(max_length=128, widget=forms.HiddenInput)


class DecisionForm(_Form):
    id_prefix = "decision"
    reason = _text(
        "Reason",
        rows=4,
        required_message="A reason is required.",
        help_text="Every decision is final and is kept with its reason in the audit trail.",
    )
    outcome = forms.ChoiceField(
        choices=Decision.Outcome.choices,
        widget=forms.HiddenInput,
        error_messages={"required": "Choose Approve or Reject."},
    )


class CommentForm(_Form):
    id_prefix = "comment"
    body = _text("Comment", rows=3, required_message="Write a comment first.")


class WithdrawForm(_Form):
    id_prefix = "withdraw"


class RiskClassForm(_Form):
    id_prefix = "risk"
    risk_class = forms.ChoiceField(label="Risk class", choices=RiskClass.choices)
    rationale = _text(
        "Rationale",
        rows=2,
        required_message="A rationale is required.",
        help_text="Why this class, e.g. the EU AI Act category the use case falls under.",
    )


class RollbackForm(_Form):
    id_prefix = "rollback"
    reason = _text(
        "Reason for the rollback",
        rows=3,
        required_message="A reason is required.",
        help_text="What is wrong with the current Production version.",
    )


class GrantForm(_Form):
    """`grantable` is what the acting user may grant on the model (services.grants.
    may_grant): approve only for registry admins and Compliance, view/change/manage only
    for the model's managers. Approve goes only to approvers, which the group list and the
    service say; the service has the last word."""

    id_prefix = "grant"
    user = forms.CharField(
        label="User",
        required=False,
        max_length=150,
        help_text="A username; or choose a group instead.",
    )
    group = forms.ModelChoiceField(
        label="Group", queryset=Group.objects.none(), required=False, empty_label="(none)"
    )
    permission = forms.ChoiceField(
        label="Permission",
        choices=[(a, a.capitalize()) for a in access.ACTIONS],
        help_text="View reads; change uploads and requests; approve decides; manage grants.",
    )

    def __init__(self, *args, grantable=access.ACTIONS, **kwargs):
        super().__init__(*args, **kwargs)
        self.grantable = tuple(a for a in access.ACTIONS if a in grantable)
        self.fields["group"].queryset = Group.objects.order_by("name")
        # Offer only what the user may grant; anything else posted is refused by name.
        self.fields["permission"].widget.choices = [(a, a.capitalize()) for a in self.grantable]
        if "approve" in self.grantable:
            self.fields[
                "permission"
            ].help_text += (
                " Approve goes only to members of Approvers or Compliance, or to those groups."
            )
            self.fields["user"].widget.attrs["list"] = "approver-candidates"
            # The approver roles first, then the groups that cannot hold approve.
            groups = list(self.fields["group"].queryset)
            self.fields["group"].widget.choices = [
                ("", "(none)"),
                (
                    "Approver roles (any permission)",
                    [(g.pk, g.name) for g in groups if g.name in access.APPROVER_ROLES],
                ),
                (
                    "Other groups (not approve)",
                    [(g.pk, g.name) for g in groups if g.name not in access.APPROVER_ROLES],
                ),
            ]

    def clean_permission(self):
        action = self.cleaned_data["permission"]
        if action not in self.grantable:
            raise ValidationError(
                "Only registry admins and Compliance grant approve."
                if action == "approve"
                else "Only the model's managers and registry admins grant that."
            )
        return action

    def clean_user(self):
        username = self.cleaned_data["user"].strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ValidationError(f"No active user is named {username}.")
        return user

    def clean(self):
        data = super().clean()
        if not self.errors and (data.get("user") is None) == (data.get("group") is None):
            raise ValidationError("Give either a user or a group, not both or neither.")
        return data

    @property
    def subject_field(self) -> str:
        return "group" if self.cleaned_data.get("group") is not None else "user"


class RevokeForm(_Form):
    id_prefix = "revoke"
    subject = forms.RegexField(regex=r"^(user|group):\d+$", widget=forms.HiddenInput)
    permission = forms.ChoiceField(
        choices=[(a, a) for a in access.ACTIONS], widget=forms.HiddenInput
    )

    def clean(self):
        data = super().clean()
        subject = data.get("subject")
        if subject:
            kind, pk = subject.split(":")
            model = get_user_model() if kind == "user" else Group
            obj = model.objects.filter(pk=int(pk)).first()
            if obj is None:
                raise ValidationError("That user or group no longer exists.")
            data["user" if kind == "user" else "group"] = obj
        return data


class ComplianceUploadForm(_Form):
    id_prefix = "compliance"
    kind = forms.ChoiceField(
        label="Document",
        choices=ComplianceDocument.Kind.choices,
        initial=ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY,
        widget=forms.HiddenInput,
    )
    file = forms.FileField(
        label="Signed declaration (PDF)",
        help_text="The signed EU declaration of conformity for this version, as a PDF.",
        error_messages={"required": "Choose a PDF file to upload."},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )
