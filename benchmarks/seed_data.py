"""What benchmarks/seed.py makes its rows of: teams, vocabulary, frameworks, metric sets and
tags, and the random samplers (Zipf words, skewed version counts).
"""

import bisect
import itertools
import random


def _words(text: str) -> list[str]:
    return text.split()


TEAMS = [
    "Fraud analytics",
    "Credit risk",
    "Customer insights",
    "Forecasting",
    "Operations research",
    "Vision",
    "Language",
    "Pricing",
]
USERS_PER_TEAM = 10

# Name parts: <domain>-<object>-<task>-<n>
DOMAINS = _words(
    "fraud card payments credit loan churn retention marketing pricing demand supply "
    "inventory claims underwriting aml kyc support search ads risk collections sales "
    "logistics routing energy maintenance quality hr security identity document speech"
)
OBJECTS = _words(
    "transaction customer merchant account application invoice order session basket "
    "ticket email call image review claim device shipment store product policy "
    "subscriber lead campaign route sensor contract"
)
TASKS = _words(
    "classifier scorer ranker forecaster detector recommender regressor segmenter "
    "embedder extractor estimator predictor matcher tagger"
)
ALGOS = (
    "Gradient-boosted",
    "Logistic regression",
    "Random forest",
    "Transformer-based",
    "Two-tower neural",
    "Bayesian",
    "Linear",
    "Stacked ensemble",
    "Convolutional",
    "Temporal fusion",
)
VERBS = ("scores", "predicts", "ranks", "flags", "estimates", "classifies", "forecasts")
# Filler vocabulary in rough frequency order (a Zipf draw over it gives common and rare
# words); "customer" is common, "transaction"/"transactions" share the prefix "transa".
VOCABULARY = _words(
    "model customer data features trained daily batch production monthly customers "
    "transaction score threshold evaluation holdout team weekly churn latency online "
    "transactions label labels drift retrained calibration fairness pipeline segment "
    "europe region mobile web baseline campaign feature store window rolling history "
    "seasonal cohort propensity probability review manual approval monitoring alert "
    "dashboard quarterly annual exposure default balance merchant network graph embedding "
    "text images audio sensor telemetry shipment warehouse supplier forecast horizon "
    "uplift experiment treatment control bias explainability shap counterfactual "
    "regulated audit lineage retention privacy anonymised pseudonymised consent "
    "oversampling imbalance recall precision ranking relevance clickthrough conversion "
    "basket recommendation session cold start fallback rules heuristic override "
    "champion challenger shadow canary rollback latency budget gpu cpu quantised "
    "distilled pruned onnx export serving endpoint streaming kafka spark snowflake "
    "bigquery postgres parquet delta iceberg nightly hourly backfill reprocessing"
)
RARE_WORD = "heliotrope"  # planted in about one model in 8,000
SYLLABLES = _words("ka lo mi ren tus vor pel dra shi qua zen bri tok fel mur gan sor vil pax oru")

FRAMEWORKS = [
    # name, versions, weight
    ("scikit-learn", ("1.3.2", "1.4.2", "1.5.2"), 30),
    ("xgboost", ("1.7.6", "2.0.3", "2.1.1"), 20),
    ("lightgbm", ("4.1.0", "4.5.0"), 15),
    ("pytorch", ("2.2.2", "2.3.1", "2.4.1"), 15),
    ("tensorflow", ("2.15.0", "2.17.0"), 8),
    ("catboost", ("1.2.5",), 5),
    ("statsmodels", ("0.14.2",), 3),
    ("prophet", ("1.1.5",), 2),
    ("onnx", ("1.16.1",), 2),
]
METRIC_SETS = {
    "classifier": ("auc", "precision", "recall", "f1"),
    "scorer": ("auc", "ks", "gini"),
    "detector": ("auc", "precision", "recall"),
    "ranker": ("ndcg_at_10", "map", "mrr"),
    "recommender": ("ndcg_at_10", "hit_rate", "coverage"),
    "forecaster": ("mape", "rmse", "mae"),
    "regressor": ("rmse", "mae", "r2"),
}
DEFAULT_METRICS = ("accuracy", "f1", "latency_ms")
MODEL_TAGS = {
    "pii": ("yes", "no"),
    "regulated": ("eu-ai-act", "gdpr", "sox"),
    "modality": ("tabular", "text", "image", "timeseries"),
    "criticality": ("tier-1", "tier-2", "tier-3"),
    "owner-contact": ("oncall", "slack"),
}
RISK_CLASSES = (("unclassified", 40), ("minimal", 30), ("limited", 20), ("high", 10))
VERSION_TAG_VALUES = {
    "trigger": ("scheduled", "manual", "drift-alert"),
    "git_branch": ("main", "release", "experiment"),
}

YEAR = 365 * 24 * 3600


def _zipf_sampler(words: list[str], rng: random.Random, exponent: float = 1.05):
    cum = list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, len(words) + 1)))
    total = cum[-1]

    def draw(k: int) -> list[str]:
        return [words[bisect.bisect_left(cum, rng.random() * total)] for _ in range(k)]

    return draw


def _version_counts(n_models: int, per_model: int, rng: random.Random) -> list[int]:
    """Exactly n_models * per_model versions: most models have a handful, a few hundreds."""
    target = n_models * per_model
    counts = [0] * n_models
    n_hot = max(1, n_models // 2000) if n_models >= 20 else 0
    hot_size = min(per_model * 150, max(1, target // 20 // max(n_hot, 1)))
    hot = set(rng.sample(range(n_models), n_hot)) if n_hot else set()
    for i in hot:
        counts[i] = rng.randint(hot_size // 2, hot_size)
    rest = [i for i in range(n_models) if i not in hot]
    remaining = target - sum(counts)
    mean = max(1.0, remaining / max(len(rest), 1))
    upper = max(1, int(2 * mean) - 1)
    for i in rest:
        counts[i] = rng.randint(1, upper)
    diff = target - sum(counts)
    while diff:
        i = rng.choice(rest) if rest else rng.randrange(n_models)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"
