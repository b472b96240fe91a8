"""What controls adds to the evidence bundle: `readiness.json`, each AI system built from the
bundle's model (that the requester may see) against every framework, evaluated when the
bundle is made. Registered in governance's bundle.EXTRA_MEMBERS by controls.apps."""

import json

from django.db.models import Exists, OuterRef

from aisystems.models import AISystem, AISystemModel
from controls import exports
from controls.evaluation import all_readiness


def bundle_members(*, user, version) -> list[tuple[str, bytes]]:
    systems = AISystem.objects.restrict(user, "view").filter(
        Exists(
            AISystemModel.objects.filter(
                system=OuterRef("pk"), registered_model_id=version.registered_model_id
            )
        )
    )
    data = []
    for system in systems.order_by("name"):
        data.append(
            {
                "system": system.name,
                "frameworks": [
                    {
                        "key": r.framework.key,
                        "version": r.framework.version,
                        "counts": r.counts,
                        "controls": exports.rows(r),
                    }
                    for r in all_readiness(system)
                ],
            }
        )
    if not data:
        return []
    return [("readiness.json", json.dumps(data, indent=2, sort_keys=True).encode())]
