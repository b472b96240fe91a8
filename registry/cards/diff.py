"""Line diffs of card sections between two revisions or two versions."""

import difflib
from dataclasses import dataclass

from registry.cards.schema import SECTIONS, Section, clean_text

# --- Diffs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    op: str  # "equal", "insert", "delete", "skip"
    text: str


def line_diff(old: str, new: str, *, context: int = 2) -> list[DiffLine]:
    """A line diff of two texts; long unchanged stretches are folded to `context` lines
    on each side of a change."""
    a, b = clean_text(old).split("\n"), clean_text(new).split("\n")
    a, b = ([] if a == [""] else a), ([] if b == [""] else b)
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            chunk = a[i1:i2]
            head = context if index > 0 else 0
            tail = context if index < len(opcodes) - 1 else 0
            if len(chunk) > head + tail + 1:
                lines += [DiffLine("equal", t) for t in chunk[:head]]
                lines.append(DiffLine("skip", f"{len(chunk) - head - tail} unchanged lines"))
                lines += [DiffLine("equal", t) for t in chunk[len(chunk) - tail :]]
            else:
                lines += [DiffLine("equal", t) for t in chunk]
            continue
        lines += [DiffLine("delete", t) for t in a[i1:i2]]
        lines += [DiffLine("insert", t) for t in b[j1:j2]]
    return lines


@dataclass
class SectionDiff:
    section: Section
    old: str
    new: str
    lines: list[DiffLine]

    @property
    def changed(self) -> bool:
        return self.old != self.new


def sections_diff(old: dict, new: dict) -> list[SectionDiff]:
    diffs = []
    for section in SECTIONS:
        a, b = clean_text(old.get(section.key)), clean_text(new.get(section.key))
        diffs.append(SectionDiff(section, a, b, line_diff(a, b) if a != b else []))
    return diffs
