"""Quantitative analyses: the metrics logged per slice, as one table."""

from dataclasses import dataclass

# --- Quantitative analyses: the slice table ------------------------------------------------


@dataclass
class SliceTable:
    names: list[str]
    rows: list[tuple[str, list]]  # (slice, value per name or None)

    def __bool__(self):
        return bool(self.rows)


def slice_table(metrics) -> SliceTable:
    """Metrics that carry a dataset or slice, one row per slice, with the overall figure
    of the same metrics first for reference."""
    metrics = list(metrics)
    sliced = [m for m in metrics if m.dataset]
    if not sliced:
        return SliceTable([], [])
    names = sorted({m.name for m in sliced})
    values: dict[str, dict[str, float]] = {}
    for m in metrics:
        if m.name in names:
            values.setdefault(m.dataset, {})[m.name] = m.value
    slices = sorted(k for k in values if k)
    rows = []
    if "" in values:
        rows.append(("overall", [values[""].get(n) for n in names]))
    rows.extend((s, [values[s].get(n) for n in names]) for s in slices)
    return SliceTable(names, rows)


def format_value(value) -> str:
    return "–" if value is None else f"{value:.4g}"
