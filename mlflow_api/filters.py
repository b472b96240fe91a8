"""MLflow's registry search grammar: `<key> <comparator> <value>` clauses joined by AND.

Keys: name, tags.<key> / tag.<key> (the key may be `backticked` or "quoted"), and for model
versions also run_id, source_path and version_number. Comparators as MLflow allows them:
= != LIKE ILIKE on strings, IN on name and run_id, = != < <= > >= and IN on version_number.
LIKE is case-sensitive, ILIKE not; % and _ are the wildcards. OR is refused, as in MLflow.

Hostile input: a filter is refused (400 INVALID_PARAMETER_VALUE) before it is parsed when it
is longer than ATTEST_API_FILTER_MAX_LENGTH characters or has more than
ATTEST_API_FILTER_MAX_CLAUSES clauses; order_by lists and page tokens have the same kind of
caps. LIKE and ILIKE run as SQL pattern matches (GLOB / LIKE ... ESCAPE on SQLite, LIKE /
ILIKE ... ESCAPE on PostgreSQL), which both engines evaluate without backtracking, never as a
regular expression (a pattern of many % wildcards made Python's regex engine run for
minutes)."""

import base64
import json
import re

from django.conf import settings
from django.db.models import Exists, F, Lookup, OuterRef, Q, Value
from django.db.models.fields import CharField
from django.db.models.lookups import Exact, IsNull

from mlflow_api.errors import invalid
from registry.models import ModelTag, VersionTag

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,) |
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*") |
        (?P<op>!=|<=|>=|=|<|>) |
        (?P<number>-?\d+(?:\.\d+)?) |
        (?P<backtick>`[^`]*`) |
        (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
    )""",
    re.VERBOSE,
)
STRING_OPS = {"=", "!=", "LIKE", "ILIKE"}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise invalid(f"Invalid filter '{text}': cannot parse near '{text[pos : pos + 20]}'.")
        pos = match.end()
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
    return tokens


def _unquote(value: str) -> str:
    if value[:1] in "'\"`" and value[-1:] == value[:1]:
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _max_length() -> int:
    return settings.ATTEST_API_FILTER_MAX_LENGTH


def _max_clauses() -> int:
    return settings.ATTEST_API_FILTER_MAX_CLAUSES


def check_text(what: str, text) -> None:
    """A grammar's input: a string, not too long, and nothing no database can store (a NUL,
    a lone surrogate from a JSON body), so no bad input reaches the database as a 5xx."""
    if not isinstance(text, str):
        raise invalid(f"The {what} must be a string, not {type(text).__name__}.")
    if "\x00" in text:
        raise invalid(f"The {what} contains a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid(f"The {what} is not valid Unicode text.") from exc
    if len(text) > _max_length():
        raise invalid(
            f"The {what} is {len(text)} characters long; at most {_max_length()} are allowed."
        )


def parse(text: str) -> list[tuple[str, str | None, str, object]]:
    """[(key, tag key or None, comparator, value)]; values are strings, numbers or lists."""
    if text is None or text == "":
        return []
    check_text("filter", text)
    if not text.strip():
        return []
    tokens = _tokens(text)
    clauses, i = [], 0
    while i < len(tokens):
        kind, word = tokens[i]
        if kind != "word":
            raise invalid(f"Invalid filter '{text}': expected an attribute at '{word}'.")
        tag_key = None
        lowered = word.lower()
        if lowered.startswith(("tags.", "tag.")):
            tag_key = word.split(".", 1)[1]
            key = "tags"
        elif lowered in ("tags", "tag") and i + 1 < len(tokens) and tokens[i + 1][0] == "backtick":
            raise invalid(f"Invalid filter '{text}'.")
        else:
            key = lowered
        i += 1
        # `tags.`my key`` arrives as the word "tags." then a backticked key.
        if tag_key == "" and i < len(tokens) and tokens[i][0] in ("backtick", "string"):
            tag_key = _unquote(tokens[i][1])
            i += 1
        if tag_key is not None:
            tag_key = _unquote(tag_key)
        if i >= len(tokens):
            raise invalid(f"Invalid filter '{text}': a comparison is incomplete.")
        kind, op = tokens[i]
        if kind == "word" and op.upper() in ("LIKE", "ILIKE", "IN"):
            op = op.upper()
        elif kind == "word" and op.upper() == "NOT" and i + 1 < len(tokens):
            if tokens[i + 1][1].upper() != "IN":
                raise invalid(f"Invalid filter '{text}'.")
            op, i = "NOT IN", i + 1
        elif kind != "op":
            raise invalid(f"Invalid filter '{text}': expected a comparator at '{op}'.")
        i += 1
        if op in ("IN", "NOT IN"):
            if i >= len(tokens) or tokens[i][0] != "lparen":
                raise invalid(f"Invalid filter '{text}': IN needs a parenthesised list.")
            i += 1
            values = []
            while i < len(tokens) and tokens[i][0] != "rparen":
                kind, raw = tokens[i]
                if kind == "comma":
                    i += 1
                    continue
                if kind not in ("string", "number"):
                    raise invalid(f"Invalid filter '{text}': bad list value '{raw}'.")
                values.append(_unquote(raw))
                i += 1
            if i >= len(tokens):
                raise invalid(f"Invalid filter '{text}': unclosed list.")
            i += 1
            value: object = values
        else:
            if i >= len(tokens) or tokens[i][0] not in ("string", "number"):
                raise invalid(f"Invalid filter '{text}': expected a value after {op}.")
            kind, raw = tokens[i]
            value = _unquote(raw) if kind == "string" else raw
            if key != "version_number" and kind != "string":
                raise invalid(
                    f"Invalid filter '{text}': the value for {key} must be a quoted string."
                )
            i += 1
        clauses.append((key, tag_key, op, value))
        if len(clauses) > _max_clauses():
            raise invalid(
                f"The filter has more than {_max_clauses()} clauses; at most "
                f"{_max_clauses()} are allowed."
            )
        if i < len(tokens):
            kind, word = tokens[i]
            if kind != "word" or word.upper() != "AND":
                raise invalid(
                    f"Invalid filter '{text}': clauses can only be joined with AND"
                    + (" (OR is not supported)." if word.upper() == "OR" else ".")
                )
            i += 1
            if i >= len(tokens):
                raise invalid(f"Invalid filter '{text}': nothing after AND.")
    return clauses


def _collapse(pattern: str) -> str:
    """A run of % matches what one % matches; collapsing keeps the work per row small."""
    return re.sub(r"%{2,}", "%", pattern)


def like_pattern(pattern: str) -> str:
    """MLflow's pattern (% and _ wildcards, no escape character) as a SQL LIKE pattern for
    `ESCAPE '\\'`: a backslash in the value is a literal backslash."""
    return _collapse(pattern).replace("\\", "\\\\")


_GLOB_SPECIAL = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}


def glob_pattern(pattern: str) -> str:
    """MLflow's LIKE pattern as a case-sensitive SQLite GLOB pattern: % is *, _ is ?, and a
    literal *, ? or [ is put in brackets ([*] matches only *); ] and \\ are literal in GLOB."""
    return "".join(_GLOB_SPECIAL.get(ch, ch) for ch in _collapse(pattern))


class _PatternMatch(Lookup):
    """`field LIKE pattern`, MLflow's semantics, on SQLite and PostgreSQL. Used as an
    expression (Q(Like(F(field), value))), not registered on any field."""

    case_sensitive = True
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        value = self.rhs.value if isinstance(self.rhs, Value) else self.rhs
        if connection.vendor == "sqlite":
            if self.case_sensitive:
                # SQLite's LIKE ignores ASCII case; GLOB does not.
                return f"{lhs_sql} GLOB %s", [*lhs_params, glob_pattern(value)]
            return f"{lhs_sql} LIKE %s ESCAPE '\\'", [*lhs_params, like_pattern(value)]
        operator = "LIKE" if self.case_sensitive else "ILIKE"
        sql = f"{lhs_sql}::text {operator} %s ESCAPE '\\'"
        return sql, [*lhs_params, like_pattern(value)]


class Like(_PatternMatch):
    lookup_name = "mlflow_like"
    case_sensitive = True


class ILike(_PatternMatch):
    lookup_name = "mlflow_ilike"
    case_sensitive = False


def _string_q(field: str, op: str, value: str) -> Q:
    if op == "=":
        return Q(**{field: value})
    if op == "!=":
        return ~Q(**{field: value})
    if op == "LIKE":
        return Q(Like(F(field), Value(value, output_field=CharField())))
    if op == "ILIKE":
        return Q(ILike(F(field), Value(value, output_field=CharField())))
    raise invalid(f"Invalid comparator '{op}' for a string attribute.")


def _tag_q(tag_model, owner_field: str, outer: str, tag_key: str, op: str, value) -> Q:
    if op not in STRING_OPS:
        raise invalid(f"Invalid comparator '{op}' for tags: use =, !=, LIKE or ILIKE.")
    tags = tag_model.objects.filter(**{owner_field: OuterRef(outer)}, key=tag_key)
    if op == "!=":
        # MLflow: rows without the tag pass (the client's own prompt filter relies on it).
        return ~Q(Exists(tags.filter(value=value)))
    return Q(Exists(tags.filter(_string_q("value", op, value))))


def model_filter_q(text: str) -> Q:
    q = Q()
    for key, tag_key, op, value in parse(text):
        if key == "name":
            if op in ("IN", "NOT IN"):
                q &= Q(name__in=value) if op == "IN" else ~Q(name__in=value)
            else:
                q &= _string_q("name", op, value)
        elif key == "tags":
            q &= _tag_q(ModelTag, "registered_model", "pk", tag_key, op, value)
        else:
            raise invalid(
                f"Invalid attribute key '{key}' specified. Valid keys are '{{'name', 'tags'}}'."
            )
    return q


EXPERIMENT_ORDER = {
    "name": "name",
    "experiment_id": "pk",
    "creation_time": "creation_time",
    "last_update_time": "last_update_time",
}
EXPERIMENT_NUMERIC = {"creation_time", "last_update_time"}
NUMERIC_OPS = {"=": "exact", "!=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def experiment_filter_q(text: str) -> Q:
    """MLflow's experiment filter: name, creation_time, last_update_time and tags."""
    from django.db.models.fields.json import KeyTextTransform

    q = Q()
    for key, tag_key, op, value in parse(text):
        if key == "name":
            q &= _string_q("name", op, value)
        elif key in EXPERIMENT_NUMERIC and op in NUMERIC_OPS:
            try:
                number = int(value)
            except (TypeError, ValueError) as exc:
                raise invalid(f"Invalid value {value!r} for {key}.") from exc
            clause = Q(**{f"{key}__{NUMERIC_OPS[op]}": number})
            q &= ~clause if op == "!=" else clause
        elif key == "tags":
            if op not in STRING_OPS:
                raise invalid(f"Invalid comparator '{op}' for tags: use =, !=, LIKE or ILIKE.")
            text_value = KeyTextTransform(tag_key, "tags")
            if op == "=":
                q &= Q(Exact(text_value, value))
            elif op == "!=":
                q &= ~Q(Exact(text_value, value)) | Q(IsNull(text_value, True))
            else:
                lookup = Like if op == "LIKE" else ILike
                q &= Q(lookup(text_value, Value(value, output_field=CharField())))
        else:
            raise invalid(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                "'{'name', 'creation_time', 'last_update_time', 'tags'}'."
            )
    return q


def _version_number(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise invalid(f"version_number must be an integer, got {value!r}.") from exc
    if abs(number) > MAX_PAGE_OFFSET:
        raise invalid(f"version_number {value} is out of range.")
    return number


NUMBER_OPS = {"=": "", "<": "__lt", "<=": "__lte", ">": "__gt", ">=": "__gte"}


def version_filter_q(text: str) -> Q:
    q = Q()
    for key, tag_key, op, value in parse(text):
        if key == "name":
            if op in ("IN", "NOT IN"):
                inner = Q(registered_model__name__in=value)
                q &= inner if op == "IN" else ~inner
            else:
                q &= _string_q("registered_model__name", op, value)
        elif key == "run_id":
            if op == "IN":
                q &= Q(run_id__in=value)
            elif op == "NOT IN":
                q &= ~Q(run_id__in=value)
            elif op in ("=", "!="):
                q &= _string_q("run_id", op, value)
            else:
                raise invalid(f"Invalid comparator '{op}' for run_id: use =, != or IN.")
        elif key == "source_path":
            q &= _string_q("source", op, value)
        elif key == "version_number":
            if op in ("IN", "NOT IN"):
                numbers = [_version_number(v) for v in value]
                q &= Q(version__in=numbers) if op == "IN" else ~Q(version__in=numbers)
            elif op == "!=":
                q &= ~Q(version=_version_number(value))
            elif op in NUMBER_OPS:
                q &= Q(**{f"version{NUMBER_OPS[op]}": _version_number(value)})
            else:
                raise invalid(f"Invalid comparator '{op}' for version_number.")
        elif key == "tags":
            q &= _tag_q(VersionTag, "model_version", "pk", tag_key, op, value)
        else:
            raise invalid(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                "'{'name', 'run_id', 'source_path', 'version_number', 'tags'}'."
            )
    return q


MODEL_ORDER = {
    "name": "name",
    "timestamp": "updated_at",
    "last_updated_timestamp": "updated_at",
    "creation_timestamp": "created_at",
}
VERSION_ORDER = {
    "name": "registered_model__name",
    "version_number": "version",
    "creation_timestamp": "created_at",
    "timestamp": "updated_at",
    "last_updated_timestamp": "updated_at",
    "run_id": "run_id",
}


def order_by(clauses: list[str], fields: dict[str, str], default: list[str]) -> list[str]:
    result = []
    clauses = clauses or []
    if len(clauses) > _max_clauses():
        raise invalid(f"order_by has {len(clauses)} clauses; at most {_max_clauses()} are allowed.")
    for clause in clauses:
        check_text("order_by clause", clause)
        parts = clause.strip().split()
        if not parts or len(parts) > 2:
            raise invalid(f"Invalid order_by clause '{clause}'.")
        key = parts[0].strip("`").lower()
        if key.startswith("attributes."):
            key = key[len("attributes.") :]
        if key not in fields:
            raise invalid(
                f"Invalid order by key '{parts[0]}' specified. Valid keys are {sorted(fields)}."
            )
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise invalid(f"Invalid order_by clause '{clause}'.")
        result.append(("-" if direction == "DESC" else "") + fields[key])
    seen = {r.lstrip("-") for r in result}
    result += [d for d in default if d.lstrip("-") not in seen]
    return result


def max_results(value, *, default: int, cap: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise invalid(f"Invalid value for max_results: {value!r}.") from exc
    if number < 1 or number > cap:
        raise invalid(
            "Invalid value for request parameter max_results. It must be at most "
            f"{cap}, but got value {number}"
        )
    return number


# Page tokens are ours: base64 of {"offset": n}. Anything longer, or an offset no result set
# reaches (SQLite and PostgreSQL take 64-bit offsets; larger ones fail in the driver), is refused.
MAX_PAGE_TOKEN_LENGTH = 200
MAX_PAGE_OFFSET = 2**31 - 1


def page_offset(token) -> int:
    if not token:
        return 0
    if not isinstance(token, str) or len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise invalid("Invalid page token: too long.")
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise invalid("Invalid page token, could not base64-decode.") from exc
    if offset < 0 or offset > MAX_PAGE_OFFSET:
        raise invalid("Invalid page token.")
    return offset


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()
