"""Helpers to make knowledge bases for tests: copy the minimal fixture and change it."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal"
ROOT = Path(__file__).parent.parent
DEFAULT_KB = ROOT / "knowledge"
ACHTERHOEK_KB = ROOT / "examples" / "achterhoek"


def copy_kb(tmp_path: Path, source: Path = MINIMAL) -> Path:
    """A writable copy of a knowledge base."""
    target = tmp_path / "kb"
    shutil.copytree(source, target)
    return target


def edit(folder: Path, file: str, old: str, new: str) -> None:
    """Replace `old` by `new` in one file; fail loudly when `old` is not there."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
