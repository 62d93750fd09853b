"""Dutch normalisation: accents, compounds, typos, synonyms, stop words."""

from __future__ import annotations

from bot.engine.language import Analyzer, _split_compound, builtin_lexicon, fold


def test_fold_removes_case_accents_punctuation_and_emoji() -> None:
    assert fold("Buurtcoöperatie 🙂 Cliëntondersteuning!!") == "buurtcooperatie clientondersteuning"


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
    debt = analyzer.slots("debt")[0].exact
    assert debt == analyzer.slots("schulden")[0].exact
    assert debt[0].startswith("#")


def test_stop_words_are_dropped_but_acronyms_in_names_are_kept() -> None:
    analyzer = Analyzer(builtin_lexicon())
    analyzer.freeze()
    assert [s.word for s in analyzer.slots("ik wil mee")] == []
    analyzer.protect_acronyms(["MEE cliëntondersteuning"])
    assert [s.word for s in analyzer.slots("ik wil mee")] == ["mee"]
