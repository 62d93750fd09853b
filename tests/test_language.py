"""Dutch normalisation: accents, compounds, typos, synonyms, stop words."""

from __future__ import annotations

import os
import random
import re
import string
import subprocess
import sys
import unicodedata

from bot.engine.language import Analyzer, _split_compound, builtin_lexicon, fold
from tests.kbtools import ROOT


def test_fold_removes_case_accents_punctuation_and_emoji() -> None:
    assert fold("Buurtcoöperatie 🙂 Cliëntondersteuning!!") == "buurtcooperatie clientondersteuning"


def test_fold_shortcut_for_plain_ascii_gives_the_same_words() -> None:
    def unicode_fold(text: str) -> str:  # the path fold() takes for text with accents
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return re.sub(r"[^a-z0-9]+", " ", without_marks).strip()

    rng = random.Random(3)
    for _ in range(500):
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
        assert fold(text) == unicode_fold(text), text


def test_compounds_split_into_known_parts() -> None:
    parts = frozenset({"mantelzorg", "waardering", "schuld", "hulp", "verlening", "ouderen", "zorg"})
    assert _split_compound("mantelzorgwaardering", parts) == ("mantelzorg", "waardering")
    assert _split_compound("schuldhulpverlening", parts) == ("schuld", "hulp", "verlening")
    assert _split_compound("ouderenzorg", parts) == ("ouderen", "zorg")
    assert _split_compound("onbekendwoord", parts) == ()


def test_typos_are_repaired_against_the_vocabulary() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.learn(["Hulp bij de huishouding en schulden"])
    analyzer.freeze()
    words = [slot.word for slot in analyzer.slots("ik heb shculden en huishoudign")]
    assert words[0] == "schulden"
    assert words[1] in {"huishouding", "huishouden"}  # both one edit away; both known words
    assert [slot.word for slot in analyzer.slots("blablabla")] == ["blablabla"]


def test_synonyms_and_english_meet_in_one_concept() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    debts = analyzer.slots("schulden")[0].synonyms
    assert debts == analyzer.slots("deurwaarder")[0].synonyms == ("#schulden",)
    assert "#schulden" in analyzer.slots("debt")[0].synonyms
    # The word itself is kept too: a text that uses it fits a little better than a synonym.
    assert analyzer.slots("deurwaarder")[0].exact != analyzer.slots("schulden")[0].exact


def test_stop_words_are_dropped_but_acronyms_in_names_are_kept() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    assert [s.word for s in analyzer.slots("ik wil mee")] == []
    analyzer.protect_acronyms(["MEE cliëntondersteuning"])
    assert [s.word for s in analyzer.slots("ik wil mee")] == ["mee"]


def test_compound_splits_follow_the_vocabulary_learned_last() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    assert analyzer.slots("zorgblabla")[0].parts == ()
    analyzer.learn(["blabla"])
    analyzer.freeze()
    assert analyzer.slots("zorgblabla")[0].parts != ()


def test_equally_close_typo_repairs_prefer_the_word_the_knowledge_base_uses_most() -> None:
    def repair(text: str) -> str:
        analyzer = Analyzer(builtin_lexicon())
        analyzer.learn([text])
        analyzer.freeze()
        return analyzer.slots("kaarx")[0].word  # one edit from both "kaart" and "kaars"

    assert repair("kaars kaart kaart") == "kaart"
    assert repair("kaars kaars kaart") == "kaars"
    assert repair("kaart kaars") == "kaars"  # equally used: the alphabetically first


def test_typo_repair_keeps_real_words_that_only_look_like_known_ones() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.learn(["zorgen buiten schulden huur"])
    analyzer.freeze()
    # A different first letter or a short word: more likely another word than a typo.
    assert [s.word for s in analyzer.slots("morgen sluiten muur")] == ["morgen", "sluiten", "muur"]
    repaired = analyzer.slots("schudlen")  # a swap counts as one edit
    assert [(s.word, s.guessed) for s in repaired] == [("schulden", True)]
    assert not analyzer.slots("schulden")[0].guessed


def test_a_compound_written_as_two_words_is_joined() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.learn(["Wat is een levenstestament?"])
    analyzer.freeze()
    assert [s.word for s in analyzer.slots("levens testament")] == ["levenstestament"]
    assert [s.word for s in analyzer.slots("testament levens")] == ["testament", "levens"]


def test_typo_repair_does_not_depend_on_the_hash_seed() -> None:
    # Sets iterate in a per-process order; a repair chosen "first found" would differ.
    script = (
        "from bot.engine.matcher import Matcher\n"
        "from bot.kb.loader import load_knowledge_base\n"
        "from tests.kbtools import DEFAULT_KB\n"
        "m = Matcher(load_knowledge_base(DEFAULT_KB))\n"
        "words = sorted(w for w in m.analyzer.vocabulary if len(w) >= 5)\n"
        "print([[s.word for s in m.analyzer.slots(w[:2] + w[3:] + 'x')] for w in words[::5]])\n"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed},
                       check=True).stdout
        for seed in ("0", "1", "2")
    }
    assert len(outputs) == 1


def test_the_wording_says_which_kind_of_answer_is_wanted() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    assert analyzer.wanted_kind("wat is het telefoonnummer van het wmo-loket") == "service"
    assert analyzer.wanted_kind("hoe werkt de eigen bijdrage") == "faq"
    assert analyzer.wanted_kind("waar kan ik terecht met schulden") == "service"
    assert analyzer.wanted_kind("schulden") is None


def test_a_question_for_contact_details_finds_the_service_not_its_explanation() -> None:
    from bot.engine.matcher import Matcher
    from bot.kb.loader import load_knowledge_base
    from tests.kbtools import DEFAULT_KB

    matcher = Matcher(load_knowledge_base(DEFAULT_KB))

    def best(text: str) -> str | None:
        found = matcher.search(text).best
        return found.id if found else None

    assert best("wat is het adres van het sociaal team") == "sociaal-team"
    assert best("wat doet het sociaal team") == "wat-is-het-sociaal-team"


def test_an_english_word_matches_english_texts_and_its_dutch_meaning() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.learn(["money"])  # a knowledge base with English translations uses the word itself
    analyzer.freeze()
    money = analyzer.slots("money")[0]
    assert money.exact == ("money",)
    assert "#geld" in money.synonyms
    # English phrases and function words: "passed away" is a death, "she"/"her" say nothing.
    assert [s.synonyms for s in analyzer.slots("she passed away")] == [("#overlijden",)]


def test_a_group_the_knowledge_base_never_uses_is_read_in_its_broader_meaning() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    analyzer.indexed = frozenset({"#schulden"})  # a knowledge base with debt help, no food bank
    food_bank = analyzer.slots("voedselbank")[0]
    assert food_bank.synonyms == ("#schulden",) and food_bank.guessed
    analyzer.indexed = frozenset({"#voedselbank", "#schulden"})
    assert analyzer.slots("voedselbank")[0].synonyms == ("#voedselbank",)


def test_an_inflection_of_a_known_word_is_not_a_typo() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.learn(["van deur tot deur", "het duren"])
    analyzer.freeze()
    assert analyzer.slots("deuren")[0].word == "deur"  # not "duren", one edit away


def test_emphasis_phrases_carry_no_topic() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    assert [s.word for s in analyzer.slots("ik ga dood van de zenuwen")] == ["zenuwen"]
