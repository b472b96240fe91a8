"""Filters for printed reports (templates/governance/reports/document.html)."""

import re

from django import template

register = template.Library()

_ISO_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
)


@register.filter
def report_cell(value):
    """A table or field value as people read it. The JSON keeps ISO 8601 timestamps;
    printed, they lose the microseconds and the "T" so a column can wrap between date
    and time ("2026-11-23 21:45:01 UTC")."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        match = _ISO_DATETIME.match(value)
        if match:
            day, clock, zone = match.groups()
            zone = "UTC" if zone in (None, "Z", "+00:00") else zone
            return f"{day} {clock} {zone}"
    return value


WIDE_TABLE_COLUMNS = 8


@register.filter
def is_wide(item) -> bool:
    """Items with a table of many columns get a landscape page of their own in the PDF."""
    return any(
        block.get("type") == "table" and len(block.get("columns", ())) >= WIDE_TABLE_COLUMNS
        for block in item.get("blocks", ())
    )
