"""docs/ARCHITECTURE.md's map names every module of the code, and every ADR it points to exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _map_block() -> str:
    start = MAP.index("## The map")
    return MAP[start:MAP.index("```", MAP.index("```", start) + 3)]


def test_every_module_is_in_the_map():
    block = _map_block()
    missing = []
    for package in ("mtm", "surveys", "enumerators"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or path.name == "__init__.py":
                continue
            name = path.stem if "commands" in relative.parts else path.name
            if not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", block):
                missing.append(str(relative))
    assert missing == []


def test_the_adrs_the_docs_name_exist():
    named = {int(n) for n in re.findall(r"ADR (\d{4})", MAP)}
    present = {int(p.name[:4]) for p in (ROOT / "docs" / "adr").glob("[0-9][0-9][0-9][0-9]-*.md")}
    assert named - present == set()
