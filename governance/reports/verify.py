"""Check an Attest evidence bundle offline. Python's standard library and the
`cryptography` package only (pip install cryptography): copy this one file anywhere and run

    python3 verify.py bundle.zip --fingerprint <SHA-256 of the instance's public key>
    python3 verify.py bundle.zip --key attest-signing-key.pem

Get the key or its fingerprint from Attest itself, not from the bundle: the page
/.well-known/attest-signing-keys.json, or `manage.py signing_keys`. A forger who can
recompute every hash cannot sign, so the checks that matter are against that key:

- manifest.sig is a valid Ed25519 signature of manifest.json by the trusted key;
- the audit log's tree head in the manifest is signed by the same key;
- every file the manifest lists is there with its size and SHA-256, SHA256SUMS agrees,
  and the ZIP holds nothing unlisted (directory entries, as `zip -r` adds, are ignored);
- each audit event matches its own hash, its inclusion proof leads to the signed tree
  head's root, events next to each other in the log are linked by prev_hash, and their
  number is the manifest's `audit_events`;
- the technical documentation matches its digest, which is the digest the manifest states.

It prints one line per problem, naming the file and the check, and exits 1; or prints
"OK: N files verified" and exits 0 (2 for a usage error).
"""

import argparse
import base64
import hashlib
import json
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST, SIGNATURE, SUMS = "manifest.json", "manifest.sig", "SHA256SUMS"
AUDIT_EVENTS, PROOFS, TECHDOC = (
    "audit-events.jsonl",
    "audit-proofs.jsonl",
    "technical-documentation.json",
)
PUBLIC_KEY = "signing-key.pem"


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


# --- Keys and signatures ------------------------------------------------------------------


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def signed_by(key: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def trusted_key(bundle, names, key_file, fingerprint, problems):
    """The key given on the command line, or the bundle's own key if its fingerprint is the
    one pinned on the command line; None (with a problem) otherwise."""
    if key_file:
        with open(key_file, "rb") as handle:
            return load_public_key(handle.read())
    if PUBLIC_KEY not in names:
        problems.append(f"{PUBLIC_KEY}: missing, so --fingerprint has no key to pin")
        return None
    key = load_public_key(bundle.read(PUBLIC_KEY))
    if hashlib.sha256(raw_public(key)).hexdigest() != fingerprint.lower():
        problems.append(
            f"{PUBLIC_KEY}: its fingerprint is not the one given (not the instance key)"
        )
        return None
    return key


def tree_head_statement(head: dict) -> bytes:
    """The text Attest signs for a tree head (governance.models.audit.tree_head_statement)."""
    return (
        f"attest audit log v1\nsize {head['tree_size']}\nroot {head['root_hash']}\n"
        f"time {head['signed_at']}\nkey {head['key_id']}\n"
    ).encode()


def check_signatures(bundle, manifest_bytes, manifest, key, problems) -> dict | None:
    """The manifest's signature and the tree head's; returns the head if it is signed."""
    try:
        sig = json.loads(bundle.read(SIGNATURE))
        ok = sig.get("key_id") == key_id_of(key) and signed_by(
            key, manifest_bytes, sig["signature"]
        )
    except (KeyError, ValueError, TypeError, AttributeError):
        ok = False
    if not ok:
        problems.append(f"{SIGNATURE}: not a signature of {MANIFEST} by the trusted key")
    head = (manifest.get("audit_log") or {}).get("tree_head")
    try:
        signed = head["key_id"] == key_id_of(key) and signed_by(
            key, tree_head_statement(head), head["signature"]
        )
    except (KeyError, TypeError):
        signed = False
    if not signed:
        problems.append(f"{MANIFEST}: the audit log's tree head is not signed by the trusted key")
        return None
    return head


# --- RFC 6962 inclusion proofs (RFC 9162 2.1.3.2) -----------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, path: list, root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# --- The audit events -------------------------------------------------------------------


def read_events(bundle, problems) -> list[dict]:
    """Each line's hash must be the SHA-256 of the line without its `id` and `hash`."""
    rows = []
    with bundle.open(AUDIT_EVENTS) as member:
        for number, line in enumerate(member, start=1):
            try:
                row = json.loads(line)
                expected, event_id = row.pop("hash"), row.pop("id")
            except (ValueError, KeyError, AttributeError, TypeError):
                problems.append(f"{AUDIT_EVENTS} line {number}: not an audit event")
                continue
            if hashlib.sha256(canonical_json(row).encode()).hexdigest() != expected:
                problems.append(
                    f"{AUDIT_EVENTS} line {number} (event {event_id}): "
                    "its content does not match its hash"
                )
            rows.append(
                {"line": number, "id": event_id, "hash": expected, "prev": row.get("prev_hash")}
            )
    return rows


def check_log(bundle, names, manifest, head, rows, problems) -> None:
    stated = manifest.get("audit_events")
    if stated != len(rows):
        problems.append(f"{AUDIT_EVENTS}: holds {len(rows)} events, the manifest says {stated}")
    if head is None:
        return
    proofs = {}
    if PROOFS in names:
        for line in bundle.read(PROOFS).decode().splitlines():
            proof = json.loads(line)
            proofs[proof["id"]] = proof
    else:
        problems.append(f"{PROOFS}: missing")
    root, size = bytes.fromhex(head["root_hash"]), head["tree_size"]
    placed = []
    for row in rows:
        proof = proofs.get(row["id"])
        where = f"{AUDIT_EVENTS} line {row['line']} (event {row['id']})"
        try:
            path = [bytes.fromhex(p) for p in proof["path"]]
            included = verify_inclusion(
                proof["leaf_index"], size, leaf_hash(bytes.fromhex(row["hash"])), path, root
            )
        except (TypeError, KeyError, ValueError):
            included = False
        if not included:
            problems.append(f"{where}: not in the signed audit log (its inclusion proof fails)")
            continue
        placed.append((proof["leaf_index"], row))
    placed.sort(key=lambda item: item[0])
    for (i, earlier), (j, later) in zip(placed, placed[1:], strict=False):
        if j == i + 1 and later["prev"] != earlier["hash"]:
            problems.append(
                f"{AUDIT_EVENTS} line {later['line']} (event {later['id']}): its prev_hash is "
                f"not the hash of event {earlier['id']} before it"
            )


def check_techdoc(bundle, manifest, problems) -> None:
    data = json.loads(bundle.read(TECHDOC))
    actual = hashlib.sha256(canonical_json(data.get("report")).encode()).hexdigest()
    if actual != data.get("digest"):
        problems.append(f"{TECHDOC}: the report does not match its digest")
    elif data.get("digest") != manifest.get("technical_documentation_digest"):
        problems.append(f"{TECHDOC}: its digest is not the one {MANIFEST} states")


# --- The whole bundle ------------------------------------------------------------------------


def check_listing(bundle, names, manifest, actual, problems) -> None:
    listed = set()
    for entry in manifest.get("files", []):
        name = entry["path"]
        listed.add(name)
        if name not in actual:
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif actual[name] != (entry["sha256"], entry["size"]):
            problems.append(f"{name}: does not match its size and SHA-256 in {MANIFEST}")
    for name in sorted(set(actual) - listed - {MANIFEST, SIGNATURE}):
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


def verify(path: str, *, key_file: str | None = None, fingerprint: str | None = None):
    """The problems found, and how many files were hashed."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as bundle:
        names = [n for n in bundle.namelist() if not n.endswith("/")]  # `zip -r` adds dirs
        if len(names) != len(set(names)):
            problems.append("the ZIP holds the same file name more than once")
        if not {MANIFEST, SIGNATURE, SUMS} <= set(names):
            return problems + [
                f"{MANIFEST}, {SIGNATURE} or {SUMS} is missing: not a signed evidence bundle"
            ], 0
        actual = {name: sha256_of(bundle, name) for name in set(names) - {SUMS}}
        manifest_bytes = bundle.read(MANIFEST)
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != "attest-evidence-bundle":
            problems.append(f"{MANIFEST}: not an Attest evidence bundle manifest")
        key = trusted_key(bundle, names, key_file, fingerprint, problems)
        head = check_signatures(bundle, manifest_bytes, manifest, key, problems) if key else None
        check_listing(bundle, names, manifest, actual, problems)
        declared = manifest.get("declaration_of_conformity") or {}
        name = declared.get("file")
        if name in actual and actual[name][0] != declared.get("recorded_sha256"):
            problems.append(f"{name}: differs from the declaration recorded at upload")
        rows = read_events(bundle, problems) if AUDIT_EVENTS in actual else []
        check_log(bundle, names, manifest, head, rows, problems)
        if TECHDOC in actual:
            check_techdoc(bundle, manifest, problems)
    return problems, len(actual)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify an Attest evidence bundle offline.")
    parser.add_argument("bundle")
    trust = parser.add_mutually_exclusive_group(required=True)
    trust.add_argument("--key", help="the instance's public key (PEM) that must have signed it")
    trust.add_argument("--fingerprint", help="SHA-256 (hex) of the instance's raw public key")
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        problems, count = verify(args.bundle, key_file=args.key, fingerprint=args.fingerprint)
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, TypeError) as exc:
        problems = [f"{args.bundle}: cannot be read as an evidence bundle ({exc!r})"]
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    print(f"OK: {count} files verified, signed by key {key_id_label(args)}")
    return 0


def key_id_label(args) -> str:
    if args.key:
        with open(args.key, "rb") as handle:
            return key_id_of(load_public_key(handle.read()))
    return args.fingerprint[:16].lower()


if __name__ == "__main__":
    sys.exit(main())
