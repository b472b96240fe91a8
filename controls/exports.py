"""A system's readiness against one framework as CSV, JSON or a signed PDF (registry/pdf.py
signs every PDF it makes with the instance key, governance/pdf_signing.py)."""

import csv
import io
import json

from django.template.loader import render_to_string
from django.utils import timezone


def rows(result) -> list[dict]:
    return [
        {
            "framework": result.framework.key,
            "ref": r.control.ref,
            "title": r.control.title,
            "status": r.status,
            "summary": r.summary,
            "owner": r.owner if r.is_gap else "",
            "evidence": [{"label": label, "url": url} for label, url in r.evidence],
            "crosswalk": [f"{c.framework.key} {c.ref}" for c in r.control.related.all()],
        }
        for r in result.results
    ]


def as_json(result) -> bytes:
    body = {
        "system": result.system.name,
        "framework": {
            "key": result.framework.key,
            "name": result.framework.name,
            "version": result.framework.version,
            "source": result.framework.source,
            "url": result.framework.url,
        },
        "evaluated_at": timezone.now().isoformat(),
        "counts": result.counts,
        "controls": rows(result),
    }
    return json.dumps(body, indent=2).encode()


def as_csv(result) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["framework", "ref", "title", "status", "summary", "owner", "evidence"])
    for row in rows(result):
        evidence = " | ".join(f"{e['label']} <{e['url']}>" for e in row["evidence"])
        cells = [row[k] for k in ("framework", "ref", "title", "status", "summary", "owner")]
        # A cell starting with = + - @ is a formula to a spreadsheet: quote it as text.
        cells = ["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells + [evidence]]
        writer.writerow(cells)
    return out.getvalue().encode()


def as_pdf(result) -> bytes:
    from registry.pdf import html_to_pdf

    html = render_to_string(
        "controls/readiness_pdf.html",
        {"result": result, "generated_at": timezone.now()},
    )
    return html_to_pdf(html)
