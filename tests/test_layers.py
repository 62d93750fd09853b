"""Dependencies run one way: telegram → service → engine, storage; jobs → service.

Read from the imports themselves (also those inside functions), so a back-import fails CI.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# The layer of a module, by the first part of its name under bot/.
LAYERS = {
    "clock": "base", "config": "base", "tasks": "base",
    "engine": "engine", "kb": "engine",  # the engine reads knowledge-base models
    "storage": "storage",
    "service": "service", "handoff": "service", "stats": "service",
    "jobs": "jobs",
    "telegram": "telegram",
}
# What each layer may import from bot/ (modules not in LAYERS are the top: cli, runner, …,
# which may import anything and which nothing but the top imports).
ALLOWED = {
    "base": {"base"},
    "engine": {"base", "engine"},
    "storage": {"base", "storage"},
    "service": {"base", "engine", "storage", "service"},
    "jobs": {"base", "engine", "storage", "service", "jobs"},
    "telegram": {"base", "engine", "storage", "service", "telegram"},
}
# The one module that wires the channel to the jobs: it starts and stops them.
COMPOSITION_ROOTS = {"bot.telegram.app": {"jobs"}}
# python-telegram-bot belongs to the Telegram layer (and the top, which starts it).
TELEGRAM_LIBRARY = "telegram"


def layer_of(module: str) -> str:
    """'telegram' for bot.telegram.sender, 'top' for bot.cli."""
    parts = module.split(".")
    return LAYERS.get(parts[1], "top") if len(parts) > 1 else "top"


def imports(source: str, module: str) -> Iterator[str]:
    """Every module a source imports, with relative imports made absolute."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            yield base


def violations(sources: dict[str, str]) -> list[str]:
    """Imports that run against the layers, as 'importer -> imported'."""
    found = []
    for module, source in sources.items():
        own = layer_of(module)
        if own not in ALLOWED:
            continue  # the top may import anything
        for name in imports(source, module):
            library = name.split(".")[0] == TELEGRAM_LIBRARY and own != "telegram"
            allowed = ALLOWED[own] | COMPOSITION_ROOTS.get(module, set())
            backwards = name.startswith("bot.") and layer_of(name) not in allowed
            if library or backwards:
                found.append(f"{module} -> {name}")
    return sorted(found)


def bot_sources() -> dict[str, str]:
    """Every module under bot/, by its dotted name."""
    sources = {}
    for path in BOT.rglob("*.py"):
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        sources[name] = path.read_text(encoding="utf-8")
    return sources


def test_dependencies_run_one_way() -> None:
    assert violations(bot_sources()) == []


def test_a_back_import_is_caught() -> None:
    sources = {
        "bot.engine.conversation": "from bot.telegram.render import render\n",
        "bot.jobs.reminders": "def later():\n    from bot.telegram.handlers import x\n",
        "bot.storage": "import telegram\n",
        "bot.service.runtime": "from bot.engine.conversation import Engine\n",
        "bot.telegram.handlers.start": "from ..render import render\nfrom bot.service import y\n",
        "bot.cli": "from bot.telegram.app import WegwijzerBot\n",
        "bot.telegram.app": "from bot.jobs.reminders import Reminders\n",
        "bot.telegram.handlers.staff_admin": "from bot.jobs.weekly_report import report_for\n",
    }
    assert violations(sources) == [
        "bot.engine.conversation -> bot.telegram.render",
        "bot.jobs.reminders -> bot.telegram.handlers",
        "bot.storage -> telegram",
        "bot.telegram.handlers.staff_admin -> bot.jobs.weekly_report",
    ]
