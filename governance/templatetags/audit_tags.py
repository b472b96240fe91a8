"""Audit trail pieces for other apps' templates: `{% load audit_tags %}`."""

from django import template

from governance.timeline import version_timeline as build_timeline

register = template.Library()


@register.inclusion_tag("governance/_timeline.html")
def version_timeline(version):
    """The version's history as sentences; the page showing it has checked the version is
    visible, so no further permission check is needed here."""
    if version is None or version.pk is None:
        return {"timeline": None, "version": version}
    return {"timeline": build_timeline(version), "version": version}
