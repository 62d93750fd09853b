"""The shared map of needs (issue 16): reading needs, finding entries through them, the
gemeente's own desk, small talk, the generalist, and `needs:` in a knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.conversation import Engine, State, Text
from bot.engine.needs import build, builtin_needs
from bot.kb.loader import KnowledgeBaseError, load_knowledge_base
from tests.kbtools import copy_kb, edit

SMALL_MAP = {
    "domains": [{"id": "geld", "nl": "Geld", "en": "Money"},
                {"id": "zorg", "nl": "Zorg", "en": "Care"}],
    "needs": [
        {"id": "schulden", "domain": "geld", "nl": "Schulden", "en": "Debts",
         "words": {"nl": ["schulden", "rekeningen niet betalen"], "en": ["debt"],
                   "typos": ["schuldn"]}, "related": ["geldzorgen"]},
        {"id": "geldzorgen", "domain": "geld", "nl": "Geldzorgen", "en": "Money worries",
         "words": {"nl": ["krap bij kas"], "en": ["broke"]}},
        {"id": "respijt", "domain": "zorg", "nl": "Respijt", "en": "Respite",
         "words": {"nl": ["even vrij van de zorg"], "en": ["respite"]}},
    ],
    "life_events": [{"id": "scheiding", "nl": "Scheiding", "en": "Divorce",
                     "words": {"nl": ["gescheiden"]}, "needs": ["geldzorgen", "nergens"]}],
}


def test_a_text_is_read_as_needs_in_dutch_english_typos_and_with_words_between() -> None:
    needs = build([SMALL_MAP])
    assert set(needs.read("ik kan mijn rekeningen niet meer betalen")) == {"schulden"}
    assert needs.read("I am in debt")["schulden"] == 1.0
    assert set(needs.read("veel schuldn")) == {"schulden"}
    assert needs.read("rekeningen niet betalen")["schulden"] == 3.0  # three words of evidence
    assert needs.read("het weer is mooi") == {}


def test_life_events_suggest_their_needs_and_neighbours_count_less() -> None:
    needs = build([SMALL_MAP])
    assert needs.read("sinds ik gescheiden ben") == {"geldzorgen": 0.5}  # unknown ids dropped
    assert needs.expand({"schulden": 1.0}) == {"schulden": 1.0, "geldzorgen": 0.4}


def test_an_entry_meets_the_needs_its_text_names() -> None:
    needs = build([SMALL_MAP])
    met = needs.met_by([("Hulp bij schulden", 1.0), ("Ook als je krap bij kas zit", 0.1)])
    assert met == {"schulden": 1.0}  # geldzorgen: 3 words × 0.1, under 40% of the strongest
    met = needs.met_by([("Hulp bij schulden", 1.0), ("Ook als je krap bij kas zit", 0.2)])
    assert met == {"schulden": 1.0, "geldzorgen": 0.6}


def test_the_shipped_map_is_consistent() -> None:
    needs = builtin_needs()
    assert len(needs.needs) >= 200
    assert {need.domain for need in needs.needs.values()} <= set(needs.domains)
    for need in needs.needs.values():
        assert set(need.neighbours) <= set(needs.needs), need.id


def test_a_question_in_words_the_editor_never_used_finds_the_entry(tmp_path: Path) -> None:
    """The minimal schuldhulp card never says "deurwaarder aan de deur" or "bailiff"."""
    engine = Engine(load_knowledge_base(copy_kb(tmp_path)))
    matches = engine.matcher.search("the bailiff keeps coming to my door").matches
    assert matches and matches[0].id == "schuldhulp"
    assert any(reason.startswith("~") for reason in matches[0].matched)


def test_everyday_gemeente_matters_go_to_the_gemeentes_own_desk(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    plain = Engine(load_knowledge_base(kb))
    reply = plain.handle(State(), Text("mijn paspoort is verlopen")).replies[0].text
    assert reply.startswith("Daarvoor kun je terecht bij de gemeente Testdorp zelf.")
    (kb / "gemeente.yaml").write_text((kb / "gemeente.yaml").read_text(encoding="utf-8") + (
        "general_topics:\n  channel:\n    phone: \"14 0123\"\n"
        "    website: https://www.testdorp.example\n  topics: [kermis]\n"), encoding="utf-8")
    engine = Engine(load_knowledge_base(kb))
    reply = engine.handle(State(), Text("mijn paspoort is verlopen")).replies[0].text
    assert "14 0123 of https://www.testdorp.example" in reply
    local = engine.handle(State(), Text("when is the kermis this year")).replies[0].text
    assert local.startswith("The municipality of Testdorp handles that itself: 14 0123")
    assert engine.understand(State(), Text("ik heb schulden").text).intent is None


@pytest.mark.parametrize(("message", "key", "lang"), [
    ("👍", "thanks", "nl"), ("doei", "goodbye", "nl"), ("waar moet ik zijn", "greeting", "nl"),
    ("Goedemorgen, ik heb een vraag", "greeting", "nl"),
    ("thank you so much for the help", "thanks", "en"),
])
def test_small_talk_gets_a_short_kind_answer_and_the_menu(
        tmp_path: Path, message: str, key: str, lang: str) -> None:
    engine = Engine(load_knowledge_base(copy_kb(tmp_path)))
    reply = engine.handle(State(), Text(message)).replies[0]
    assert reply.text == engine.texts.get(key, lang)
    assert reply.options  # never a dead end


def test_needs_in_several_domains_add_the_generalist_with_one_sentence(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "gemeente.yaml", "name: Testdorp", "name: Testdorp\ngeneralist: mantelzorg")
    engine = Engine(load_knowledge_base(kb))
    story = "ik heb schulden en mijn moeder heeft dementie, ik slaap slecht door de stress"
    turn = engine.handle(State(), Text(story))
    assert engine.understand(State(), story).offered[1].id == "mantelzorg"
    why = [r for r in turn.replies if r.text.startswith("Je vraag gaat over meer dingen")]
    assert why and any(o.token == "s:mantelzorg" for o in why[0].options)


def test_unknown_needs_and_generalists_are_reported_with_file_and_line(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "keywords: [schulden, rekeningen, deurwaarder]",
         "keywords: [schulden, rekeningen, deurwaarder]\n    needs: [schuldn]")
    edit(kb, "gemeente.yaml", "name: Testdorp", "name: Testdorp\ngeneralist: sociaal-tem")
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(kb)
    messages = [f"{Path(p.file).name}:{p.line}: {p.message}" for p in caught.value.problems]
    assert any(m.startswith("services.yaml:8: 'schuldhulp' names need 'schuldn', which does "
                            "not exist; did you mean 'schulden'?") for m in messages), messages
    assert any(m.startswith("gemeente.yaml:2: generalist names service 'sociaal-tem'")
               for m in messages), messages


def test_a_named_need_is_used_instead_of_the_inferred_ones(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "keywords: [mantelzorg, mantelzorger, respijt]",
         "keywords: [mantelzorg, mantelzorger, respijt]\n    needs: [respijtzorg]")
    engine = Engine(load_knowledge_base(kb))
    assert engine.matcher.needs_met("service", "mantelzorg") == {"respijtzorg": 1.0}
    assert engine.matcher.needs_met("service", "schuldhulp")  # inferred from its text


def test_a_message_in_the_other_language_is_answered_in_it_with_one_tap_back(
        tmp_path: Path) -> None:
    engine = Engine(load_knowledge_base(copy_kb(tmp_path)))
    turn = engine.handle(State(), Text("where can I get help with my debts"))
    assert turn.state.lang == "en"
    assert "l:nl" in [o.token for o in turn.replies[-1].options]
    assert "Free help if you have debts." in turn.replies[0].text  # the card's English
    assert turn.replies[-1].text == engine.texts.get("what_next", "en")
    back = engine.handle(turn.state, Text("ik heb een vraag over de wmo"))
    assert back.state.lang == "nl"
    assert "l:en" in [o.token for o in back.replies[-1].options]
    short = engine.handle(State(), Text("help"))  # too short to judge: the language stays
    assert short.state.lang == "nl"


def test_check_warns_about_an_entry_that_meets_no_need_and_lists_the_needs(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", """    keywords: [mantelzorg, mantelzorger, respijt]
    examples: [Ik zorg voor mijn moeder en ben moe]""", """    keywords: [zzyzx]""")
    edit(kb, "services.yaml", "name: Mantelzorgsteunpunt", "name: Qwerty")
    edit(kb, "services.yaml", "summary: Steun voor mantelzorgers.", "summary: Qwerty.")
    result = subprocess.run([sys.executable, "-m", "bot", "check", "--kb", str(kb), "--needs"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "services.yaml:16: warning: 'mantelzorg' meets no need of the shared map" in (
        result.stdout)
    assert "schuldhulp: schulden" in result.stdout and "(inferred)" in result.stdout
    assert "mantelzorg: - (inferred)" in result.stdout


def test_free_clientondersteuning_is_offered_once_beside_answers_about_the_rules() -> None:
    """Issue 19, part 4: one short line with a button, once per conversation, not beside
    unrelated answers, and again after starting over."""
    from bot.engine.conversation import Choice
    from tests.kbtools import DEFAULT_KB

    engine = Engine(load_knowledge_base(DEFAULT_KB))
    line = engine.texts.get("client_support", "nl")
    unrelated = engine.handle(State(), Choice("s:schuldhulp"))
    assert line not in [r.text for r in unrelated.replies]
    first = engine.handle(unrelated.state, Choice("f:wat-is-de-wmo"))
    (support,) = [r for r in first.replies if r.text == line]
    assert [o.token for o in support.options] == ["s:mee-clientondersteuning"]
    again = engine.handle(first.state, Choice("f:welke-wet-betaalt"))
    assert line not in [r.text for r in again.replies]  # once per conversation
    restarted = engine.handle(again.state, Choice("r"))
    after = engine.handle(restarted.state, Choice("f:welke-wet-betaalt"))
    assert line in [r.text for r in after.replies]
    # An answer that already names the cliëntondersteuner gets no extra line.
    named = engine.handle(State(), Choice("f:keukentafelgesprek-voorbereiden"))
    assert line not in [r.text for r in named.replies]
