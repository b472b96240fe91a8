"""Documents generated from the registry: the instructions for use (Art. 13(3)) and the
EU declaration of conformity (Annex V), each in the Regulation's order. Like the technical
documentation (aisystems.techdoc), every item is filled with its source or missing with
what fills it; nothing is invented."""

from aisystems.models import AISystem, Conformity
from aisystems.techdoc import FILLED, MISSING, NOT_APPLICABLE, Item, documented_versions
from governance.reports.techdoc.common import card_texts
from registry.cards import SECTIONS_BY_KEY, card_of

EDIT = "Fill it on the AI system's edit page"


def _item(point, title, texts, source, fill) -> Item:
    texts = [t for t in texts if t and str(t).strip()]
    if texts:
        return Item(point, title, FILLED, texts, source)
    return Item(point, title, MISSING, [], source, fill)


def _cards(user, system):
    versions = documented_versions(user, system)
    return versions, [(v, card_texts(card_of(v))) for v in versions]


def _card(cards, key) -> list:
    return [
        f"{v.registered_model.name} v{v.version}: {texts[key]}"
        for v, texts in cards
        if texts.get(key)
    ]


def instructions_for_use(user, system: AISystem) -> list[Item]:
    """Art. 13(3)(a)-(f), from the system and its versions' cards and metrics."""
    versions, cards = _cards(user, system)
    card = lambda key: f"model cards: {SECTIONS_BY_KEY[key].title}"  # noqa: E731
    metrics = [
        f"{v.registered_model.name} v{v.version}: "
        + ", ".join(
            f"{m.name}{f' ({m.dataset})' if m.dataset else ''} = {m.value:g}"
            for m in v.metrics.all()[:30]
        )
        for v in versions
        if v.metrics.exists()
    ]
    return [
        _item(
            "13(3)(a)",
            "The provider: identity and contact details",
            [f"{system.provider_name}, {system.provider_address}"],
            "AI system: provider",
            EDIT,
        ),
        _item(
            "13(3)(b)(i)",
            "Intended purpose",
            [system.intended_purpose],
            "AI system: intended purpose",
            EDIT,
        ),
        _item(
            "13(3)(b)(ii)",
            "Accuracy, robustness and cybersecurity it was tested against",
            metrics + ([system.cybersecurity] if system.cybersecurity else []),
            "the versions' metrics; AI system: cybersecurity",
            "Log the versions' test metrics and describe the cybersecurity measures.",
        ),
        _item(
            "13(3)(b)(iii)",
            "Circumstances that may lead to risks",
            _card(cards, "risks_limitations") + _card(cards, "out_of_scope"),
            card("risks_limitations"),
            "Fill the model cards' Risks and limitations.",
        ),
        _item(
            "13(3)(b)(iv)",
            "Information to explain its output",
            [system.deployer_interface],
            "AI system: deployer's interface",
            EDIT,
        ),
        _item(
            "13(3)(b)(v)",
            "Performance for specific persons or groups",
            _card(cards, "quantitative_analyses"),
            card("quantitative_analyses"),
            "Fill the model cards' Quantitative analyses.",
        ),
        _item(
            "13(3)(b)(vi)",
            "Specifications for the input data",
            [system.input_specification],
            "AI system: input data specification",
            EDIT,
        ),
        _item(
            "13(3)(b)(vii)",
            "How to interpret the output and use it appropriately",
            [system.instructions_for_use] + _card(cards, "caveats_recommendations"),
            "AI system: instructions for use; model cards: Caveats and recommendations",
            EDIT,
        ),
        _item(
            "13(3)(c)",
            "Pre-determined changes",
            [system.predetermined_changes],
            "AI system: pre-determined changes",
            EDIT,
        ),
        _item(
            "13(3)(d)",
            "Human oversight measures",
            _card(cards, "human_oversight"),
            card("human_oversight"),
            "Fill the model cards' Human oversight.",
        ),
        _item(
            "13(3)(e)",
            "Resources, expected lifetime, maintenance and updates",
            [system.hardware, system.update_requirements],
            "AI system: hardware, update requirements",
            EDIT,
        ),
        Item(
            "13(3)(f)",
            "Logging (Art. 12)",
            FILLED,
            [
                "Attest records every change to the system, its models and its registers in an "
                "append-only, hash-chained audit trail; deployers keep the system's own operation "
                "logs as its software describes."
            ],
            "Attest audit trail",
        ),
    ]


def declaration(user, system: AISystem, entry: Conformity) -> list[Item]:
    """Annex V, points 1 to 8, for the system and one conformity assessment."""
    versions = documented_versions(user, system)
    refs = ", ".join(f"{v.registered_model.name} v{v.version}" for v in versions)
    body = entry.notified_body.strip()
    eight = []
    if entry.declaration_signed_on:
        eight = [
            f"Signed on {entry.declaration_signed_on:%Y-%m-%d} by "
            f"{entry.declaration_signatory or '(signatory not named)'}."
        ]
    items = [
        _item(
            "1",
            "AI system name, type and reference",
            [
                f"{system.name}: {system.get_annex_iii_category_display()}"
                + (f"; models {refs}" if refs else "")
            ],
            "AI system",
            EDIT,
        ),
        _item(
            "2",
            "Name and address of the provider",
            [f"{system.provider_name}, {system.provider_address}"],
            "AI system: provider",
            EDIT,
        ),
        Item(
            "3",
            "Issued under the sole responsibility of the provider",
            FILLED,
            [
                f"This EU declaration of conformity is issued under the sole responsibility of "
                f"{system.provider_name}."
            ],
            "Annex V 3 (fixed text)",
        ),
        Item(
            "4",
            "Conformity with Regulation (EU) 2024/1689",
            FILLED,
            [
                f"The AI system {system.name} is in conformity with Regulation (EU) 2024/1689 and, "
                "where applicable, with other relevant Union law."
            ],
            "Annex V 4 (fixed text)",
        ),
        Item(
            "5",
            "Personal data (Regulations (EU) 2016/679, 2018/1725, Directive (EU) 2016/680)",
            FILLED,
            [
                "Where it processes personal data, the AI system complies with Regulation "
                "(EU) 2016/679 and, as applicable, Regulation (EU) 2018/1725 and "
                "Directive (EU) 2016/680."
            ],
            "Annex V 5 (fixed text)",
        ),
        _item(
            "6",
            "Harmonised standards or common specifications",
            [entry.standards],
            "Conformity register: standards",
            "Record the standards applied.",
        ),
    ]
    if entry.route == Conformity.Route.ANNEX_VII:
        items.append(
            _item(
                "7",
                "Notified body, procedure and certificate",
                [
                    f"{body}; {entry.get_route_display()}; certificate "
                    f"{entry.certificate_number or '—'} valid to "
                    f"{entry.certificate_valid_until or '—'}"
                ]
                if body and entry.certificate_number
                else [],
                "Conformity register",
                "Record the notified body and its certificate.",
            )
        )
    else:
        items.append(
            Item(
                "7",
                "Notified body, procedure and certificate",
                NOT_APPLICABLE,
                source="Conformity register",
                reason="Annex VI internal control: no notified body is involved.",
            )
        )
    items.append(
        _item(
            "8",
            "Place and date of issue, signatory and function",
            eight,
            "Conformity register: declaration signed on, by",
            "Record when and by whom the declaration was signed.",
        )
    )
    return items


def counts(items) -> tuple[int, int]:
    return sum(1 for i in items if i.status != MISSING), len(items)
