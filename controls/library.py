"""The control library: reading and checking controls/library/*.yaml, and loading it.

A framework file holds `key`, `name`, `version`, `source`, `url` and `controls` (each with
`ref`, `title`, optional `group` and optional `evidence`, a list of rule specs); the
crosswalk file (`crosswalk.yaml`) holds `source`, `url` and `links`, pairs of
"<framework key> <control ref>". `validate()` returns every problem found (an empty list when
the library is sound); `load()` writes the rows, skipping a framework whose file has not
changed since it was last loaded, and records one audit event per framework it writes.
"""

import hashlib
from pathlib import Path

import yaml
from django.db import transaction

from controls.models import Control, Framework
from controls.rules import REGISTERS, RULE_ARGS, RULES
from governance import audit

LIBRARY = Path(__file__).resolve().parent / "library"
CROSSWALK = "crosswalk.yaml"
FRAMEWORK_KEYS = {"key", "name", "version", "source", "url", "applies_to", "controls"}
CONTROL_KEYS = {"ref", "title", "group", "evidence"}
ORDER = ["eu-ai-act", "nist-ai-rmf", "iso-42001", "sr-11-7"]


def framework_files(root: Path = LIBRARY) -> list[Path]:
    return sorted(p for p in root.glob("*.yaml") if p.name != CROSSWALK)


def read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _check_rule(where: str, spec) -> list[str]:
    if not isinstance(spec, dict) or spec.get("kind") not in RULES:
        return [f"{where}: unknown evidence rule {spec!r} (kinds: {', '.join(sorted(RULES))})"]
    kind = spec["kind"]
    extra = set(spec) - {"kind"}
    needed = RULE_ARGS.get(kind, set())
    problems = []
    if extra != needed:
        problems.append(f"{where}: rule {kind} takes {sorted(needed)}, got {sorted(extra)}")
    if kind == "card_section":
        from registry.cards.schema import SECTIONS

        known = {s.key for s in SECTIONS}
        sections = spec.get("sections")
        if not isinstance(sections, list) or not sections:
            problems.append(f"{where}: card_section needs a list of sections")
        else:
            problems += [f"{where}: no card section {s!r}" for s in sections if s not in known]
    if kind == "register" and spec.get("register") not in REGISTERS:
        problems.append(f"{where}: no register {spec.get('register')!r}")
    return problems


def validate_framework(data, name: str) -> list[str]:
    if not isinstance(data, dict):
        return [f"{name}: not a mapping"]
    problems = []
    missing = FRAMEWORK_KEYS - {"applies_to"} - set(data)
    unknown = set(data) - FRAMEWORK_KEYS
    problems += [f"{name}: missing {k}" for k in sorted(missing)]
    problems += [f"{name}: unknown key {k}" for k in sorted(unknown)]
    for key in ("key", "name", "version", "source", "url"):
        if key in data and not (isinstance(data[key], str) and data[key].strip()):
            problems.append(f"{name}: {key} must be a non-empty string")
    if isinstance(data.get("url"), str) and not data["url"].startswith("https://"):
        problems.append(f"{name}: url must be https")
    controls = data.get("controls")
    if not isinstance(controls, list) or not controls:
        return problems + [f"{name}: controls must be a non-empty list"]
    seen = set()
    for i, control in enumerate(controls):
        where = f"{name} control #{i + 1}"
        if not isinstance(control, dict):
            problems.append(f"{where}: not a mapping")
            continue
        problems += [f"{where}: unknown key {k}" for k in sorted(set(control) - CONTROL_KEYS)]
        for key in ("ref", "title"):
            if not (isinstance(control.get(key), str) and control[key].strip()):
                problems.append(f"{where}: {key} must be a non-empty string")
        ref = control.get("ref")
        if ref in seen:
            problems.append(f"{where}: ref {ref} appears twice")
        seen.add(ref)
        evidence = control.get("evidence", [])
        if not isinstance(evidence, list):
            problems.append(f"{where}: evidence must be a list")
            continue
        for spec in evidence:
            problems += _check_rule(f"{where} ({ref})", spec)
    return problems


def validate(root: Path = LIBRARY) -> list[str]:
    """Every problem with the library's files; an empty list when it is sound."""
    problems, refs, keys = [], set(), set()
    for path in framework_files(root):
        data = read(path)
        problems += validate_framework(data, path.name)
        if isinstance(data, dict):
            if data.get("key") in keys:
                problems.append(f"{path.name}: framework key {data.get('key')} used twice")
            keys.add(data.get("key"))
            for control in data.get("controls") or []:
                if isinstance(control, dict):
                    refs.add(f"{data.get('key')} {control.get('ref')}")
    crosswalk = read(root / CROSSWALK) if (root / CROSSWALK).exists() else None
    if crosswalk is not None:
        for key in ("source", "url", "links"):
            if not crosswalk.get(key):
                problems.append(f"{CROSSWALK}: missing {key}")
        for pair in crosswalk.get("links") or []:
            if not (isinstance(pair, list) and len(pair) == 2):
                problems.append(f"{CROSSWALK}: {pair!r} is not a pair")
                continue
            problems += [f"{CROSSWALK}: no control {end!r}" for end in pair if end not in refs]
    return problems


def _split(end: str) -> tuple[str, str]:
    key, _, ref = end.partition(" ")
    return key, ref


@transaction.atomic
def load(*, actor=None, root: Path = LIBRARY) -> list[str]:
    """Load (or update) every framework whose file changed, then the crosswalk. Returns the
    keys of the frameworks written. Raises ValueError if the library does not validate."""
    problems = validate(root)
    if problems:
        raise ValueError("the control library does not validate:\n" + "\n".join(problems))
    written = []
    for path in framework_files(root):
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        data = yaml.safe_load(raw)
        framework = Framework.objects.filter(key=data["key"]).first()
        if framework and framework.digest == digest:
            continue
        before = {"version": framework.version, "digest": framework.digest} if framework else None
        framework, _ = Framework.objects.update_or_create(
            key=data["key"],
            defaults={
                "name": data["name"],
                "version": data["version"],
                "source": data["source"],
                "url": data["url"],
                "digest": digest,
                "order": ORDER.index(data["key"]) if data["key"] in ORDER else len(ORDER),
            },
        )
        refs = []
        for order, item in enumerate(data["controls"]):
            refs.append(item["ref"])
            Control.objects.update_or_create(
                framework=framework,
                ref=item["ref"],
                defaults={
                    "title": item["title"],
                    "group": item.get("group", ""),
                    "rules": item.get("evidence", []),
                    "order": order,
                },
            )
        removed = Control.objects.filter(framework=framework).exclude(ref__in=refs).delete()[0]
        audit.record(
            actor=actor,
            action="controls.library_load",
            target=framework,
            before=before,
            after={
                "version": framework.version,
                "digest": digest,
                "controls": len(refs),
                "removed": removed,
                "file": path.name,
            },
        )
        written.append(framework.key)
    _load_crosswalk(root, actor=actor)
    return written


def _load_crosswalk(root: Path, *, actor) -> None:
    path = root / CROSSWALK
    if not path.exists():
        return
    controls = {
        f"{c.framework.key} {c.ref}": c for c in Control.objects.select_related("framework")
    }
    wanted = set()
    for a, b in read(path)["links"]:
        x, y = sorted((controls[a].pk, controls[b].pk))
        wanted.add((x, y))
    through = Control.related.through
    have = {
        tuple(sorted((row.from_control_id, row.to_control_id))) for row in through.objects.all()
    }
    if have == wanted:
        return
    through.objects.all().delete()
    for x, y in wanted:
        controls_by_pk = Control.objects.get(pk=x)
        controls_by_pk.related.add(y)
    audit.record(
        actor=actor,
        action="controls.crosswalk_load",
        after={"links": len(wanted), "file": path.name},
    )
