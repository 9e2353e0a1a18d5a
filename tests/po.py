"""A small reader of gettext catalogues for the tests: ``.po`` entries as GNU msgfmt reads them, and what a
compiled ``.mo`` holds, so that a test can say a catalogue is complete and its ``.mo`` up to date without
the gettext tools."""

from __future__ import annotations

import ast
import gettext
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgctxt: str | None = None
    #: ``{0: text}`` for a singular entry; ``{n: text}`` per plural form.
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    #: The source files naming it (``#: surveys/admin/rounds.py``).
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values()) and "fuzzy" not in self.flags

    @property
    def key(self) -> str | tuple[str, str]:
        """The key Python's :class:`gettext.GNUTranslations` files the entry under (``msgctxt\\x04msgid``)."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def _string(text: str) -> str:
    value = ast.literal_eval(text)
    if not isinstance(value, str):
        raise ValueError(f"not a PO string: {text!r}")
    return value


def read_po(path: Path) -> list[Entry]:
    """Every entry of a ``.po`` file, the header (``msgid ""``) first."""
    entries: list[Entry] = []
    flags: set[str] = set()
    references: list[str] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            continue
        if line.startswith("#,"):
            flags = {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#:"):
            references += [ref.rsplit(":", 1)[0] if ref.rsplit(":", 1)[-1].isdigit() else ref
                           for ref in line[2:].split()]
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgctxt":
            current = Entry(msgid="", msgctxt=_string(rest), flags=flags, references=references, obsolete=obsolete)
            entries.append(current)
            flags, references, target = set(), [], ("msgctxt", 0)
        elif keyword == "msgid":
            if current is None or current.msgctxt is None or current.msgid or target != ("msgctxt", 0):
                current = Entry(msgid="", flags=flags, references=references, obsolete=obsolete)
                entries.append(current)
            current.msgid, flags, references, target = _string(rest), set(), [], ("msgid", 0)
        elif keyword == "msgid_plural" and current is not None:
            current.msgid_plural, target = _string(rest), ("msgid_plural", 0)
        elif keyword.startswith("msgstr") and current is not None:
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            current.msgstr[index], target = _string(rest), ("msgstr", index)
        elif line.startswith('"') and current is not None and target is not None:
            text = _string(line)
            kind, index = target
            if kind == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + text
            elif kind == "msgid":
                current.msgid += text
            elif kind == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + text
            else:
                current.msgstr[index] += text
    return entries


def po_catalogue(entries: list[Entry]) -> dict[str | tuple[str, int], str]:
    """What ``msgfmt`` compiles from the entries (translated, not fuzzy, not obsolete; the header), keyed
    as :class:`gettext.GNUTranslations` keys its catalogue: ``msgid``, or ``(msgid, n)`` per plural form."""
    catalogue: dict[str | tuple[str, int], str] = {}
    for entry in entries:
        if entry.obsolete or (entry.msgid and not entry.translated):
            continue
        key = entry.key
        if not entry.msgid:  # the header, less what GNU msgfmt leaves out (reproducible builds)
            catalogue[key] = "".join(line for line in entry.msgstr[0].splitlines(keepends=True)
                                     if not line.startswith("POT-Creation-Date:"))
        elif entry.msgid_plural is None:
            catalogue[key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                catalogue[(str(key), index)] = text
    return catalogue


def mo_catalogue(path: Path) -> dict[str | tuple[str, int], str]:
    """What a compiled ``.mo`` file holds, as :class:`gettext.GNUTranslations` reads it."""
    with path.open("rb") as stream:
        translations = gettext.GNUTranslations(stream)
    return dict(translations._catalog)  # type: ignore[attr-defined]  # the parsed catalogue itself
