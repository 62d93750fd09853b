"""The conversation engine: tree, back and start over, free text, crisis, unknown, buttons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from bot.engine.conversation import (
    BACK,
    HANDOFF,
    RESTART,
    Choice,
    Command,
    Engine,
    Start,
    State,
    Text,
    Turn,
)
from bot.engine.effects import NotUnderstood, Shown, TopicChosen
from bot.kb.loader import load_knowledge_base
from tests.kbtools import ACHTERHOEK_KB, MINIMAL, copy_kb, edit

MONDAY_10 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # 10:00 in Amsterdam


def make_engine(folder: Path = MINIMAL, now: dt.datetime = MONDAY_10) -> Engine:
    """An engine on a knowledge base with a fixed clock."""
    return Engine(load_knowledge_base(folder), clock=FrozenClock(now))


def tokens(turn: Turn) -> list[str]:
    """Every button token of a turn, in order."""
    return [option.token for reply in turn.replies for option in reply.options]


def text(turn: Turn) -> str:
    """All reply texts of a turn joined."""
    return "\n".join(reply.text for reply in turn.replies)


@pytest.fixture
def engine() -> Engine:
    return make_engine()


def test_start_introduces_bot_human_and_privacy_before_asking(engine: Engine) -> None:
    turn = engine.handle(State(), Start())
    welcome, privacy, question = turn.replies
    assert "computerprogramma, geen mens" in welcome.text
    assert "met een mens praten" in welcome.text
    assert "niet end-to-end versleuteld" in privacy.text and "30 dagen" in privacy.text
    assert welcome.options == () and privacy.options == ()
    assert question.text.startswith("Voor wie zoek je hulp?")
    assert [o.token for o in question.options] == ["o:begin:0", "o:begin:1", "l:en", "x", HANDOFF]
    assert turn.state.node == "begin"


def test_tree_to_service_card_with_hours(engine: Engine) -> None:
    state = engine.handle(State(), Start()).state
    turn = engine.handle(state, Choice("o:begin:1"))
    assert turn.state.role == "carer" and turn.state.history == ("begin",)
    assert turn.replies[0].text == "Waar gaat het over?"
    turn = engine.handle(turn.state, Choice("o:onderwerp:0"))
    # Short first (issue 17): what it is, the first way to reach it, open or not.
    assert turn.replies[0].text == ("📍 Schuldhulp\n\nGratis hulp als je schulden hebt.\n\n"
                                    "Telefoon: 0475 538 888\n🕘 Nu open, tot 12:00")
    assert [o.token for o in turn.replies[0].options] == ["m:service:schuldhulp"]
    assert TopicChosen("algemeen") in turn.effects
    assert Shown("service:schuldhulp") in turn.effects
    assert tokens(turn)[-3:] == [BACK, HANDOFF, RESTART]
    more = engine.handle(turn.state, Choice("m:service:schuldhulp"))  # "Vertel me meer"
    card = more.replies[0].text
    assert card.startswith("📍 Schuldhulp\n\nGratis hulp als je schulden hebt.")
    assert "Telefoon: 0475 538 888" in card
    assert "Website: https://www.example.nl/schulden" in card
    assert "🕘 Nu open, tot 12:00" in card
    assert "Open: ma 09:00-12:00, 13:00-17:00; di 09:00-17:00" in card
    assert "Gecontroleerd op 01-11-2026" in card
    assert [o.token for o in more.replies[-1].options] == [BACK, HANDOFF, RESTART]
    assert engine.handle(turn.state, Choice("m:service:bestaat-niet")).replies[0].text == (
        engine.texts.get("old_button", "nl"))


def test_example_data_is_marked_on_the_card(engine: Engine) -> None:
    turn = engine.handle(State(), Choice("s:mantelzorg"))
    # No phone and no website on this card: it does not say "bel" (issue 18).
    assert "De tijden weet ik niet. Een meedenker zoekt het met je uit" in turn.replies[0].text
    assert "Bel" not in turn.replies[0].text
    more = engine.handle(turn.state, Choice("m:service:mantelzorg"))
    assert "voorbeeldgegevens" in more.replies[0].text


def test_back_and_start_over_work_at_every_step(engine: Engine) -> None:
    state = engine.handle(State(), Start()).state
    state = engine.handle(state, Choice("o:begin:0")).state
    state = engine.handle(state, Choice("o:onderwerp:1")).state  # FAQ answer shown
    turn = engine.handle(state, Text("terug"))
    assert turn.replies[0].text == "Waar gaat het over?" and not turn.state.at_result
    turn = engine.handle(turn.state, Choice(BACK))
    assert turn.state.node == "begin" and turn.state.history == ()
    turn = engine.handle(turn.state, Choice(BACK))  # at the start, back stays at the start
    assert turn.state.node == "begin"
    state = engine.handle(turn.state, Choice("o:begin:0")).state
    turn = engine.handle(state, Text("Opnieuw!"))
    assert turn.state.node == "begin" and turn.state.history == ()
    assert engine.handle(state, Command("opnieuw")).state.history == ()


def test_free_text_finds_the_service(engine: Engine) -> None:
    turn = engine.handle(State(), Text("ik kan mijn rekenigen niet betalen"))
    assert turn.replies[0].text.startswith("📍 Schuldhulp")
    assert turn.state.at_result


def test_faq_answer_offers_related_services(engine: Engine) -> None:
    turn = engine.handle(State(), Text("wat is de wmo?"))
    assert turn.replies[0].text.startswith("❓ Wat is de Wmo?\n\nDe Wmo is de wet voor hulp thuis.")
    # "Vertel me meer" (the source and the date it was checked), then the related service.
    assert [o.token for o in turn.replies[0].options] == ["m:faq:wat-is-de-wmo", "s:schuldhulp"]


def test_close_matches_ask_which_one_is_meant(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    # Both services now name the same (made-up) word as a keyword: too close to choose.
    edit(kb, "services.yaml", "keywords: [mantelzorg, mantelzorger, respijt]",
         "keywords: [mantelzorg, mantelzorger, respijt, klompenmaker]")
    edit(kb, "services.yaml", "keywords: [schulden, rekeningen, deurwaarder]",
         "keywords: [schulden, rekeningen, deurwaarder, klompenmaker]")
    turn = make_engine(kb).handle(State(), Text("klompenmaker"))
    assert turn.replies[0].text == "Ik weet niet zeker wat je bedoelt. Bedoel je een van deze?"
    assert sorted(tokens(turn)[:2]) == ["s:mantelzorg", "s:schuldhulp"]
    assert tokens(turn)[2:] == ["x", HANDOFF]


@pytest.mark.parametrize(
    "message",
    ["ik wil er niet meer zijn", "Mijn man slaat me", "ik wil er een eind aan maken",
     "I want to kill myself", "zelfmoordgedachtes"],
)
def test_crisis_answers_at_once_with_all_numbers(engine: Engine, message: str) -> None:
    turn = engine.handle(State(node="onderwerp", history=("begin",)), Text(message))
    reply = turn.replies[0].text
    for number in ("112", "0800-0113", "0800-2000", "Huisartsenpost Test 088 88 77 000"):
        assert number in reply
    english = message.startswith("I ")  # answered in English, with one tap back to Dutch
    assert [e.kind for e in turn.effects] == ["crisis", *(["language"] if english else [])]
    assert [o.token for o in turn.replies[0].options] == [
        HANDOFF, "c", *(["l:nl"] if english else [])]
    assert turn.state.lang == ("en" if english else "nl")
    assert turn.state.node == "onderwerp"  # the resident can continue where they were


@pytest.mark.parametrize(
    "message",
    ["ik ben doodmoe van de zorg", "mijn vader is overleden, wat moet ik regelen",
     "de rekeningen slaan me om de oren", "ik schrik me dood van die brief"],
)
def test_alarming_words_in_ordinary_sentences_are_not_a_crisis(engine: Engine, message: str) -> None:
    turn = engine.handle(State(), Text(message))
    assert "crisis" not in [e.kind for e in turn.effects]


def test_unknown_question_is_answered_honestly(engine: Engine) -> None:
    turn = engine.handle(State(), Text("hoe laat speelt PSV zaterdag"))
    assert turn.replies[0].text.startswith("Sorry, dat weet ik niet.")
    assert "Meedenkers Testdorp: 0475 538 888" in turn.replies[0].text
    assert HANDOFF in tokens(turn)
    assert turn.effects == (NotUnderstood("hoe laat speelt PSV zaterdag"),)


def test_not_understood_offers_the_topics_so_nobody_is_stuck(engine: Engine) -> None:
    start = engine.handle(State(), Start()).state  # at "voor wie zoek je hulp?"
    turn = engine.handle(start, Text("hoe laat speelt PSV zaterdag"))
    topics = engine.kb.tree.nodes["onderwerp"].options  # the role question is skipped
    assert tokens(turn)[:len(topics)] == [f"o:onderwerp:{i}" for i in range(len(topics))]
    assert HANDOFF in tokens(turn) and RESTART not in tokens(turn)
    tapped = engine.handle(turn.state, Choice("o:onderwerp:0"))
    chosen = engine.handle(State(node="onderwerp", history=("begin",)), Choice("o:onderwerp:0"))
    assert tapped.replies[0].text == chosen.replies[0].text  # as if picked from the menu


@pytest.mark.parametrize("token", ["o:verdwenen:0", "o:begin:99", "s:bestaat-niet", "f:x", "zz",
                                   "l:fr", "g:5", ""])
def test_old_or_forged_buttons_show_the_current_menu(engine: Engine, token: str) -> None:
    state = engine.handle(State(), Start()).state
    turn = engine.handle(state, Choice(token))
    assert turn.replies[0].text == "Die knop werkt niet meer. Hier is het menu van nu."
    assert turn.replies[1].text.startswith("Voor wie zoek je hulp?")


def test_empty_and_emoji_only_text_gets_a_kind_answer(engine: Engine) -> None:
    for message in ("", "   ", "🙂🙂", "?!"):
        turn = engine.handle(State(), Text(message))
        assert turn.replies[0].text == "Ik zie geen woorden. Typ je vraag, of tik op een knop."


def test_english_everywhere_after_switching(engine: Engine) -> None:
    state = engine.handle(State(), Start()).state
    turn = engine.handle(state, Choice("l:en"))
    assert turn.state.lang == "en"
    assert turn.replies[0].text == "I will now talk to you in English."
    card = engine.handle(turn.state, Choice("s:schuldhulp")).replies[0].text
    assert "Free help if you have debts." in card and "Open now, until 12:00" in card
    assert engine.handle(turn.state, Command("taal")).state.lang == "nl"


def test_meedenker_request_from_free_text_and_command(engine: Engine) -> None:
    for event in (Text("kan ik een mens spreken?"), Command("meedenker"), Choice(HANDOFF)):
        turn = engine.handle(State(), event)
        assert [e.kind for e in turn.effects] == ["handoff"]
        assert "Meedenkers Testdorp: 0475 538 888" in turn.replies[0].text
        assert "Ze zijn nu bereikbaar." in turn.replies[0].text


def test_team_hours_say_when_they_open_next() -> None:
    friday_evening = dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)
    turn = make_engine(now=friday_evening).handle(State(), Command("meedenker"))
    assert "Ze zijn weer bereikbaar vanaf maandag 09:00." in turn.replies[0].text
    english = make_engine(now=friday_evening).handle(State(lang="en"), Command("meedenker"))
    assert "They can be reached again on Monday at 09:00." in english.replies[0].text
    sunday_evening = friday_evening + dt.timedelta(days=2)
    tomorrow = make_engine(now=sunday_evening).handle(State(lang="en"), Command("meedenker"))
    assert "They can be reached again tomorrow at 09:00." in tomorrow.replies[0].text


def test_public_holidays_are_closed_but_day_and_night_services_stay_open(tmp_path: Path) -> None:
    christmas = dt.datetime(2026, 12, 25, 10, 0, tzinfo=dt.UTC)  # a Friday
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", '      di: "09:00-17:00"', '      di: "09:00-17:00"\n      vr: "09:00-17:00"')
    engine = make_engine(kb, now=christmas)
    assert "Gesloten, opent maandag 09:00" in engine.handle(State(), Choice("s:schuldhulp")).replies[0].text
    edit(kb, "services.yaml", "    example_data: true", "    example_data: true\n    hours: {ma: \"00:00-24:00\", di: \"00:00-24:00\", wo: \"00:00-24:00\", do: \"00:00-24:00\", vr: \"00:00-24:00\", za: \"00:00-24:00\", zo: \"00:00-24:00\"}")
    engine = make_engine(kb, now=christmas)
    assert "Dag en nacht open" in engine.handle(State(), Choice("s:mantelzorg")).replies[0].text


def test_regional_knowledge_base_asks_gemeente_once_and_filters() -> None:
    engine = make_engine(ACHTERHOEK_KB)
    turn = engine.handle(State(), Start())
    assert turn.replies[-1].text == "In welke gemeente woon je?"
    names = [o.label for o in turn.replies[-1].options][:3]
    assert names == ["Oude IJsselstreek", "Doetinchem", "Aalten"]
    turn = engine.handle(turn.state, Text("aalten"))
    assert turn.state.gemeente == "Aalten" and not turn.state.awaiting_gemeente
    offered = engine.understand(turn.state, "ik heb schulden en rekeningen").offered
    for match in offered:
        if match.kind == "service":
            served = engine.kb.services[match.id].gemeenten
            assert not served or "Aalten" in served
    restarted = engine.handle(turn.state, Command("opnieuw"))
    assert restarted.state.gemeente == "Aalten"  # asked once, not again


def test_state_survives_serialisation() -> None:
    state = State(lang="en", node="onderwerp", history=("begin",), at_result=True,
                  gemeente="Aalten", role="carer")
    assert State.from_json(state.to_json()) == state
    assert State.from_json("not json") == State()
    assert State.from_json('{"lang": "nl", "unknown": 1}') == State()


def test_a_carer_sees_support_for_themselves_beside_the_answer(engine: Engine) -> None:
    """Issue 17: the role question decides something."""
    carer = engine.handle(State(role="carer"), Text("ik heb schulden"))
    beside = [r for r in carer.replies if r.text == engine.texts.get("carer_support", "nl")]
    assert beside and [o.token for o in beside[0].options] == ["s:mantelzorg"]
    myself = engine.handle(State(role="self"), Text("ik heb schulden"))
    assert engine.texts.get("carer_support", "nl") not in [r.text for r in myself.replies]
    about_caring = engine.handle(State(role="carer"), Choice("s:mantelzorg"))
    assert engine.texts.get("carer_support", "nl") not in [r.text for r in about_caring.replies]


def test_a_long_explanation_comes_short_first_in_whole_sentences() -> None:
    from bot.engine.cards import SHORT_WORDS, faq_short
    from bot.engine.texts import Texts
    from bot.kb.models import FaqEntry

    sentence = "Dit is een zin van precies tien woorden voor de test."
    entry = FaqEntry.model_validate({"id": "lang", "question": "Hoe zit het?",
                                     "answer": " ".join([sentence] * 8)})
    text, more = faq_short(entry, Texts({}), "nl")
    body = text.split("\n\n", 1)[1]
    assert more and body.endswith(".") and len(body.split()) <= SHORT_WORDS
    assert body.count(sentence) == 4  # whole sentences, as many as fit
    short = FaqEntry.model_validate({"id": "kort", "question": "Kort?", "answer": sentence})
    assert faq_short(short, Texts({}), "nl") == (f"❓ Kort?\n\n{sentence}", False)


def test_words_about_someone_cared_for_make_the_resident_a_carer(engine: Engine) -> None:
    turn = engine.handle(State(), Text("mijn moeder kan haar rekeningen niet betalen"))
    assert turn.state.role == "carer" and turn.state.cared_for == "moeder"
    # The wording follows the resident's own words ("je moeder").
    assert "En jij? Je zorgt voor je moeder. Ook voor jou is er steun:" in [
        r.text for r in turn.replies]
    english = engine.handle(State(), Text("my dad cannot pay his bills, who can help him"))
    assert "And you? You care for your dad. There is support for you too:" in [
        r.text for r in english.replies]
    assert engine.handle(State(), Text("ik heb schulden")).state.role is None
    assert engine.handle(State(role="self"), Text("mijn moeder")).state.role == "self"


def test_roerdalen_starts_with_the_topics_and_caring_makes_a_carer() -> None:
    from tests.kbtools import DEFAULT_KB

    engine = Engine(load_knowledge_base(DEFAULT_KB))
    start = engine.handle(State(), Start())
    question = start.replies[-1]
    assert question.text.startswith("Fijn dat je er bent. Waar gaat je vraag over?")
    labels = [o.label for o in question.options if o.token.startswith("o:")]
    assert len(labels) <= 6 and "Zorgen voor een ander" in labels
    caring = engine.handle(start.state, Choice(f"o:onderwerp:{labels.index('Zorgen voor een ander')}"))
    assert caring.state.role == "carer"


def test_a_card_without_hours_names_only_the_ways_it_shows() -> None:
    import datetime as dt

    from bot.engine.cards import hours_line
    from bot.engine.texts import Texts
    from bot.kb.models import Contact

    texts, now = Texts({}), dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    both = Contact(phone="0475 538 888", website="https://www.example.nl")
    assert hours_line(None, texts, "nl", now, both).endswith("Bel of kijk op de website voor "
                                                             "de tijden")
    phone = Contact(phone="0475 538 888")
    assert hours_line(None, texts, "nl", now, phone) == "🕘 Bel voor de tijden"
    site = Contact(website="https://www.example.nl")
    assert hours_line(None, texts, "en", now, site) == "🕘 See the website for opening times"


def test_the_whole_card_shows_what_happens_next_and_what_to_bring(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", '      website: https://www.example.nl/schulden',
         '      website: https://www.example.nl/schulden\n      address: Markt 1, Melick\n'
         '    next_steps:\n      nl: [Je belt ons., We maken een afspraak.]\n'
         '      en: [You call us., We make an appointment.]\n'
         '    bring:\n      nl: Je laatste brieven.\n      en: Your latest letters.')
    engine = make_engine(kb)
    card = engine.handle(State(), Choice("m:service:schuldhulp")).replies[0].text
    assert "Zo gaat het verder:\n1. Je belt ons.\n2. We maken een afspraak." in card
    assert "🎒 Neem mee: Je laatste brieven." in card
    assert "Adres: Markt 1, Melick\n🗺 https://www.openstreetmap.org/search?query=Markt+1%2C+Melick" \
        in card
    english = engine.handle(State(lang="en"), Choice("m:service:schuldhulp")).replies[0].text
    assert "What happens next:\n1. You call us.\n2. We make an appointment." in english
    assert "🎒 Bring: Your latest letters." in english
