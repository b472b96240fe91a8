"""YAML from untrusted hands (model-card front matter, MLmodel files from the MLflow API).

`yaml.safe_load` constructs no objects, but it still expands aliases: eight nested anchors in
383 bytes ("billion laughs") grew a worker to 3.6 GB. `load()` refuses anchors and aliases
outright (no model card or MLmodel file needs them), and caps the document's size and nesting
depth before and while composing, so a hostile document costs time linear in its size.

Settings: ATTEST_YAML_MAX_BYTES (default 256 KiB) and ATTEST_YAML_MAX_DEPTH (default 32).
"""

import yaml
from django.conf import settings
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent


class UnsafeYamlError(yaml.YAMLError):
    """The document is refused before it is built (too big, too deep, anchors or aliases)."""


# libyaml when the wheel has it (about ten times faster), else the pure-Python loader.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _where(event) -> str:
    mark = getattr(event, "start_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def _check_events(text, max_depth: int) -> None:
    """Walk the parser's events (no document is built): refuse anchors, aliases and nesting
    deeper than max_depth as soon as they appear."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, AliasEvent):
            raise UnsafeYamlError(
                f"YAML aliases (*{event.anchor}) are not accepted{_where(event)}."
            )
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise UnsafeYamlError(
                f"YAML anchors (&{event.anchor}) are not accepted{_where(event)}."
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise UnsafeYamlError(
                    f"YAML nested more than {max_depth} levels deep is not accepted{_where(event)}."
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def load(text: str | bytes, *, max_bytes: int | None = None, max_depth: int | None = None):
    """Parse one YAML document safely; raises yaml.YAMLError (UnsafeYamlError for refusals)
    with a message fit to show a user."""
    max_bytes = settings.ATTEST_YAML_MAX_BYTES if max_bytes is None else max_bytes
    max_depth = settings.ATTEST_YAML_MAX_DEPTH if max_depth is None else max_depth
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise UnsafeYamlError(f"The YAML is {size} bytes; at most {max_bytes} bytes are accepted.")
    try:
        _check_events(text, max_depth)
        # Safe now: without aliases the document built is no bigger than the text.
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. an integer with more digits than Python converts, a bad !!binary or date.
        raise UnsafeYamlError(f"The YAML has a value that cannot be read: {exc}") from exc
