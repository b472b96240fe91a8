"""The risk-classification questionnaire: Art. 5 (prohibited practices), Art. 6 with
Annex I and Annex III (high-risk), and Art. 50 (transparency duties).

`QUESTIONS` is the data (one place, shown on the form and in the evidence); `evaluate()`
turns a complete set of answers into the result. A yes to any Art. 5 question makes the
system prohibited; Art. 6(1) or an Annex III area without an Art. 6(3) derogation (and
always when it profiles natural persons) makes it high-risk; otherwise any Art. 50 duty
makes it limited, and nothing minimal."""

from dataclasses import dataclass

from aisystems.models import ANNEX_III_AREAS, AnnexIII
from registry.models import RiskClass


@dataclass(frozen=True)
class Question:
    key: str
    article: str
    text: str
    section: str


PROHIBITED = "Art. 5: prohibited practices"
HIGH_RISK = "Art. 6 and Annex III: high-risk"
DEROGATION = "Art. 6(3): derogations for Annex III systems"
TRANSPARENCY = "Art. 50: transparency"

YES_NO_QUESTIONS = (
    Question(
        "art5_1a",
        "Art. 5(1)(a)",
        "Does it deploy subliminal, purposefully manipulative "
        "or deceptive techniques that materially distort behaviour and cause significant "
        "harm?",
        PROHIBITED,
    ),
    Question(
        "art5_1b",
        "Art. 5(1)(b)",
        "Does it exploit vulnerabilities due to age, "
        "disability or a social or economic situation to distort behaviour, causing "
        "significant harm?",
        PROHIBITED,
    ),
    Question(
        "art5_1c",
        "Art. 5(1)(c)",
        "Does it evaluate or classify people by social "
        "behaviour or personality (social scoring) leading to detrimental or "
        "disproportionate treatment?",
        PROHIBITED,
    ),
    Question(
        "art5_1d",
        "Art. 5(1)(d)",
        "Does it assess the risk of a person committing a "
        "criminal offence based solely on profiling or personality traits?",
        PROHIBITED,
    ),
    Question(
        "art5_1e",
        "Art. 5(1)(e)",
        "Does it create or expand facial recognition "
        "databases through untargeted scraping of images from the internet or CCTV?",
        PROHIBITED,
    ),
    Question(
        "art5_1f",
        "Art. 5(1)(f)",
        "Does it infer emotions of people in the workplace or "
        "in education (other than for medical or safety reasons)?",
        PROHIBITED,
    ),
    Question(
        "art5_1g",
        "Art. 5(1)(g)",
        "Does it categorise people by biometric data to infer "
        "race, political opinions, trade union membership, religion, sex life or sexual "
        "orientation?",
        PROHIBITED,
    ),
    Question(
        "art5_1h",
        "Art. 5(1)(h)",
        "Is it real-time remote biometric identification in "
        "publicly accessible spaces for law enforcement (outside the Art. 5(2) "
        "exceptions)?",
        PROHIBITED,
    ),
    Question(
        "art6_1",
        "Art. 6(1)",
        "Is it (or is it a safety component of) a product covered "
        "by the Union harmonisation legislation of Annex I that needs a third-party "
        "conformity assessment?",
        HIGH_RISK,
    ),
    Question(
        "profiling",
        "Art. 6(3), last subparagraph",
        "Does it perform profiling of natural persons?",
        DEROGATION,
    ),
    Question(
        "art6_3a",
        "Art. 6(3)(a)",
        "Is it intended only to perform a narrow procedural task?",
        DEROGATION,
    ),
    Question(
        "art6_3b",
        "Art. 6(3)(b)",
        "Is it intended only to improve the result of a previously completed human activity?",
        DEROGATION,
    ),
    Question(
        "art6_3c",
        "Art. 6(3)(c)",
        "Is it intended only to detect decision-making "
        "patterns or deviations, without replacing or influencing the human assessment "
        "without proper human review?",
        DEROGATION,
    ),
    Question(
        "art6_3d",
        "Art. 6(3)(d)",
        "Is it intended only to perform a preparatory task to "
        "an assessment relevant for the Annex III use cases?",
        DEROGATION,
    ),
    Question(
        "art50_1", "Art. 50(1)", "Does it interact directly with natural persons?", TRANSPARENCY
    ),
    Question(
        "art50_2",
        "Art. 50(2)",
        "Does it generate synthetic audio, image, video or text content?",
        TRANSPARENCY,
    ),
    Question(
        "art50_3",
        "Art. 50(3)",
        "Is it an emotion recognition or biometric categorisation system?",
        TRANSPARENCY,
    ),
    Question(
        "art50_4",
        "Art. 50(4)",
        "Does it generate or manipulate deep fakes, or text "
        "published to inform the public on matters of public interest?",
        TRANSPARENCY,
    ),
)
ANNEX_QUESTION = Question(
    "annex_iii",
    "Art. 6(2), Annex III",
    "Which Annex III area is its intended purpose in?",
    HIGH_RISK,
)
QUESTIONS = (*YES_NO_QUESTIONS, ANNEX_QUESTION)
BY_KEY = {q.key: q for q in QUESTIONS}

DUTIES = {
    "art50_1": "Art. 50(1): tell people they are interacting with an AI system.",
    "art50_2": "Art. 50(2): mark synthetic output as artificially generated, machine-readably.",
    "art50_3": "Art. 50(3): inform the people exposed of the operation of the system.",
    "art50_4": "Art. 50(4): disclose that the content has been artificially generated or "
    "manipulated.",
}


@dataclass(frozen=True)
class Result:
    prohibited: bool
    risk_class: str
    reasons: list
    transparency_duties: list


def evaluate(answers: dict) -> Result:
    """The result of a complete set of answers (booleans, and an `AnnexIII` value for
    `annex_iii`). Raises KeyError or ValueError on an incomplete or unknown set."""
    for q in YES_NO_QUESTIONS:
        if not isinstance(answers[q.key], bool):
            raise ValueError(f"{q.key} must be yes or no")
    area = answers[ANNEX_QUESTION.key]
    if area not in AnnexIII.values:
        raise ValueError(f"unknown Annex III area {area!r}")
    reasons = []
    prohibited = [q for q in YES_NO_QUESTIONS if q.section == PROHIBITED and answers[q.key]]
    for q in prohibited:
        reasons.append(f"{q.article}: a prohibited practice; it may not be placed on the market.")
    derogations = [q for q in YES_NO_QUESTIONS if q.section == DEROGATION and q.key != "profiling"]
    derogation = next((q for q in derogations if answers[q.key]), None)
    high = False
    if answers["art6_1"] or area == AnnexIII.ANNEX_I:
        high = True
        reasons.append("Art. 6(1): a safety component of a product under Annex I.")
    if area in ANNEX_III_AREAS:
        label = AnnexIII(area).label
        if answers["profiling"]:
            high = True
            reasons.append(f"{label}; it profiles natural persons, so Art. 6(3) cannot apply.")
        elif derogation is None:
            high = True
            reasons.append(f"{label}; no Art. 6(3) derogation applies.")
        else:
            reasons.append(
                f"{label}, but {derogation.article} applies: not high-risk if it poses no "
                "significant risk of harm (document the assessment, Art. 6(4))."
            )
    duties = [
        DUTIES[q.key] for q in YES_NO_QUESTIONS if q.section == TRANSPARENCY and answers[q.key]
    ]
    if high or prohibited:
        risk_class = RiskClass.HIGH
    elif duties:
        risk_class = RiskClass.LIMITED
        reasons.append("Transparency duties under Art. 50 apply.")
    else:
        risk_class = RiskClass.MINIMAL
        reasons.append("No prohibited practice, not high-risk, no Art. 50 duty.")
    return Result(bool(prohibited), str(risk_class), reasons, duties)
