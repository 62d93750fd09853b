"""The bot's own sentences in Dutch and English, from data that a gemeente may override."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("nl", "en")


def _builtin() -> dict[str, dict[str, str]]:
    text = resources.files("bot.engine").joinpath("data/texts.yaml").read_text("utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(text)
    return data


_BUILTIN = _builtin()
DEFAULT_TEXT_KEYS: tuple[str, ...] = tuple(_BUILTIN)


class Texts:
    """Looks up a sentence by key and language, with the knowledge base's overrides first."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self._texts = {key: dict(value) for key, value in _BUILTIN.items()}
        for key, value in (overrides or {}).items():
            given = {lang: value.get(lang) for lang in LANGUAGES if value.get(lang)}
            self._texts[key].update(given)

    def get(self, key: str, lang: str, /, **values: object) -> str:
        """The text for `key` in `lang` (Dutch when missing), with {placeholders} filled in."""
        entry = self._texts[key]
        template = entry.get(lang) or entry["nl"]
        return template.format(**values) if values else template

    def day_names(self, lang: str) -> list[str]:
        """Short weekday names, Monday first."""
        return self.get("day_names", lang).split()


def utf16_units(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP (most emoji) count twice."""
    return len(text.encode("utf-16-le")) // 2


def fitting_prefix_length(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units, never half a character."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)
