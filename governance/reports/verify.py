"""Check an Attest evidence bundle offline. Python's standard library only: copy this one
file anywhere and run

    python3 verify.py bundle.zip

It checks that every file the manifest lists is there with its size and SHA-256, that
SHA256SUMS agrees, that the ZIP holds nothing unlisted, that each audit event still
matches its own hash, and that the technical documentation still matches its digest.
It prints one line per problem and exits 1, or prints "OK: N files verified" and exits 0
(2 for a usage error).
"""

import hashlib
import json
import sys
import zipfile

MANIFEST, SUMS = "manifest.json", "SHA256SUMS"
AUDIT_EVENTS, TECHDOC = "audit-events.jsonl", "technical-documentation.json"


def canonical_json(data) -> str:
    """What Attest hashes: keys sorted, no spaces, UTF-8 with non-ASCII kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(bundle: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with bundle.open(name) as member:
        while chunk := member.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def check_audit_events(bundle, problems) -> None:
    """Each line's hash must be the SHA-256 of the line without its `id` and `hash`."""
    with bundle.open(AUDIT_EVENTS) as member:
        for number, line in enumerate(member, start=1):
            try:
                row = json.loads(line)
                expected = row.pop("hash")
                event_id = row.pop("id")
            except (ValueError, KeyError, AttributeError, TypeError):
                problems.append(f"{AUDIT_EVENTS} line {number}: not an audit event")
                continue
            actual = hashlib.sha256(canonical_json(row).encode()).hexdigest()
            if actual != expected:
                problems.append(
                    f"{AUDIT_EVENTS} line {number} (event {event_id}): "
                    "its content does not match its hash"
                )


def check_techdoc(bundle, problems) -> None:
    data = json.loads(bundle.read(TECHDOC))
    actual = hashlib.sha256(canonical_json(data.get("report")).encode()).hexdigest()
    if actual != data.get("digest"):
        problems.append(f"{TECHDOC}: the report does not match its digest")


def verify(path: str) -> tuple[list[str], int]:
    """The problems found, and how many files were hashed."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as bundle:
        names = bundle.namelist()
        if len(names) != len(set(names)):
            problems.append("the ZIP holds the same file name more than once")
        if MANIFEST not in names or SUMS not in names:
            return problems + [f"{MANIFEST} or {SUMS} is missing: not an evidence bundle"], 0
        actual = {name: sha256_of(bundle, name) for name in set(names) - {SUMS}}
        manifest = json.loads(bundle.read(MANIFEST))
        if manifest.get("format") != "attest-evidence-bundle":
            problems.append(f"{MANIFEST}: not an Attest evidence bundle manifest")

        listed = set()
        for entry in manifest.get("files", []):
            name = entry["path"]
            listed.add(name)
            if name not in actual:
                problems.append(f"{name}: listed in {MANIFEST} but missing")
            elif actual[name] != (entry["sha256"], entry["size"]):
                problems.append(f"{name}: does not match its size and SHA-256 in {MANIFEST}")
        for name in sorted(set(actual) - listed - {MANIFEST}):
            problems.append(f"{name}: not listed in {MANIFEST}")

        summed = set()
        for line in bundle.read(SUMS).decode().splitlines():
            digest, _, name = line.partition("  ")
            summed.add(name)
            if name not in actual:
                problems.append(f"{name}: listed in {SUMS} but missing")
            elif actual[name][0] != digest:
                problems.append(f"{name}: does not match its SHA-256 in {SUMS}")
        for name in sorted(set(actual) - summed):
            problems.append(f"{name}: not listed in {SUMS}")

        declared = manifest.get("declaration_of_conformity") or {}
        name = declared.get("file")
        if name in actual and actual[name][0] != declared.get("recorded_sha256"):
            problems.append(f"{name}: differs from the declaration recorded at upload")
        if AUDIT_EVENTS in actual:
            check_audit_events(bundle, problems)
        if TECHDOC in actual:
            check_techdoc(bundle, problems)
    return problems, len(actual)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python3 verify.py bundle.zip", file=sys.stderr)
        return 2
    try:
        problems, count = verify(argv[0])
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, TypeError) as exc:
        problems = [f"{argv[0]}: cannot be read as an evidence bundle ({exc!r})"]
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    print(f"OK: {count} files verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
