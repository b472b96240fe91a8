"""The one Annex IV completeness figure of a version: the items of its technical
documentation (this package's `build`) that the record fills, out of all of them.

The technical documentation's cover, the model inventory and the Production gate of
high-risk models (governance/annex_gate.py) all take it from `annex_iv_completeness` (in
the package, `governance.reports.techdoc`) and print it with `completeness_text`, so
they cannot disagree. It is a figure of the record, not of a reader's view: it is built
with `record_reader()`, an unsaved superuser that `restrict()` lets see every row (never
saved, never signed in, used for nothing else). A reader who may view the model sees the
same rows of it, so the figure on their cover is the same number.
"""

from django.contrib.auth import get_user_model


def record_reader():
    return get_user_model()(username="", is_superuser=True, is_active=True)


def completeness_text(completeness: dict | None) -> str | None:
    """The figure as every page prints it: "21 of 26 Annex IV items present (80%)"."""
    if completeness is None:
        return None
    return (
        f"{completeness['present']} of {completeness['items']} Annex IV items present "
        f"({completeness['score']}%)"
    )
