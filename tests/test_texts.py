"""Every built-in text exists in Dutch and English, with the same placeholders in both."""

from __future__ import annotations

import datetime as dt
import string
from importlib import resources
from zoneinfo import ZoneInfo

import yaml

from bot.engine.cards import moment
from bot.engine.texts import Texts


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


def test_english_resident_texts_use_english_words_with_the_dutch_term_in_brackets() -> None:
    source = resources.files("bot.engine").joinpath("data/texts.yaml").read_text("utf-8")
    for key, value in yaml.safe_load(source).items():
        if key.startswith("staff_"):
            continue  # the staff group works in the gemeente's own words
        english = value["en"]
        for word in ("meedenker", "keukentafelgesprek", "trekkingsrecht"):
            for at in [i for i in range(len(english)) if english.startswith(word, i)]:
                before = english[max(0, at - 1):at]
                assert before in ("(", "/"), f"{key}: '{word}' in English without an English word"


def test_a_moment_in_a_sentence_reads_well_in_both_languages() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")  # opening times are Dutch times
    texts, now = Texts(), dt.datetime(2026, 12, 3, 20, 0, tzinfo=amsterdam)  # a Thursday
    monday = dt.datetime(2026, 12, 7, 9, 0, tzinfo=amsterdam)
    friday = dt.datetime(2026, 12, 4, 9, 0, tzinfo=amsterdam)
    assert moment(monday, texts, "nl", now) == "maandag 09:00"
    assert moment(monday, texts, "en", now) == "on Monday at 09:00"
    assert moment(friday, texts, "nl", now) == "morgen 09:00"
    assert moment(friday, texts, "en", now) == "tomorrow at 09:00"
