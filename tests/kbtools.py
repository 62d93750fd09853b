"""Helpers to make knowledge bases for tests: copy the minimal fixture and change it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from bot.clock import system_clock

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal"
ROOT = Path(__file__).parent.parent
DEFAULT_KB = ROOT / "knowledge"
ACHTERHOEK_KB = ROOT / "examples" / "achterhoek"
FIXTURE_CHECKED = "checked: 2026-11-01"  # as written in the minimal fixture
# Copies get a `checked` date a month before today (by the clock every test can move),
# so they neither go stale nor lie in the future, whatever the date.
RECENT = system_clock().today() - dt.timedelta(days=30)


def copy_kb(tmp_path: Path, source: Path = MINIMAL) -> Path:
    """A writable copy of a knowledge base; the minimal one is checked a month ago."""
    target = tmp_path / "kb"
    shutil.copytree(source, target)
    if source == MINIMAL:
        for name in ("services.yaml", "faq.yaml"):
            path = target / name
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(FIXTURE_CHECKED, f"checked: {RECENT}"),
                            encoding="utf-8")
    return target


def edit(folder: Path, file: str, old: str, new: str) -> None:
    """Replace `old` by `new` in one file; fail loudly when `old` is not there."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
