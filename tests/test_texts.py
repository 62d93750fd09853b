"""Every built-in text exists in Dutch and English, with the same placeholders in both."""

from __future__ import annotations

import string
from importlib import resources

import yaml


def placeholders(template: str) -> set[str]:
    """The {names} a template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    source = resources.files("bot.engine").joinpath("data/texts.yaml").read_text("utf-8")
    texts = yaml.safe_load(source)
    assert len(texts) > 100
    for key, value in texts.items():
        assert isinstance(value, dict) and value.get("nl") and value.get("en"), key
        assert placeholders(value["nl"]) == placeholders(value["en"]), key
