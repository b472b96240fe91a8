"""The "model card complete" approval gate. Importing this module registers it with the
policy (governance.apps imports it when the app is ready); the sections that count as
required come from ATTEST_MODEL_CARD_REQUIRED_SECTIONS (see registry/cards/schema.py)."""

from governance.policy import EXTRA_GATES, Gate
from registry.cards import version_card_completeness
from registry.models import ModelCard

GATE_NAME = "Model card complete"


def model_card_gate(version, snapshot: dict) -> Gate:
    completeness = version_card_completeness(version)
    if completeness.complete:
        reason = f"all {len(completeness.required)} required sections are filled"
        card = ModelCard.objects.filter(model_version_id=version.pk).first()
        if card is not None and card.carried_over:
            reason += f" (carried over from version {card.carried_from_version}, not edited)"
    else:
        missing = ", ".join(s.title.lower() for s in completeness.missing)
        reason = f"{completeness.score}% complete; missing {missing}"
    return Gate(GATE_NAME, completeness.complete, reason)


EXTRA_GATES["model_card"] = model_card_gate
