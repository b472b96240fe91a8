"""Template helpers for model cards and version comparison."""

from django import template

from registry.cards import card_completeness, card_locked, card_of

register = template.Library()


@register.inclusion_tag("registry/card_summary.html")
def card_summary(version):
    """The card's completeness and state, for the version page."""
    card = card_of(version)
    return {
        "version": version,
        "model": version.registered_model,
        "card": card,
        "completeness": card_completeness(card),
        "locked": card_locked(version),
    }


@register.filter
def lookup(mapping, key):
    try:
        return mapping.get(key) if mapping is not None else None
    except AttributeError:
        return None


@register.filter
def lookup_index(sequence, index):
    try:
        return sequence[int(index)]
    except (IndexError, TypeError, ValueError):
        return None


@register.filter
def signed(value):
    """A difference with its sign: +0.012, -3, 0."""
    if value is None:
        return ""
    if value == 0:
        return "±0"
    return f"{value:+.4g}"


@register.filter
def percent(value):
    if value is None:
        return ""
    return f"{value:+.1f}%"


@register.filter
def short_hash(value):
    return (value or "")[:12]
