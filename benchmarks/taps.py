"""Taps and words to reach the right card through the question tree (issue 17).

Usage: python benchmarks/taps.py [KB_DIR]  (default: knowledge/)

For 30 fixed resident goals (a service card or an explanation), the shortest path of taps from
/start through the tree to the screen that shows it, and the number of words on that screen
before the goal's own text starts, plus the words of the goal itself. Taps are counted on
the real engine, the way a resident taps, breadth first.
"""

from __future__ import annotations

import statistics
import sys
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.conversation import Choice, Engine, Start, State, Turn
from bot.kb.loader import load_knowledge_base

GOALS = [  # what residents most often come for, across every topic of the tree
    "service:schuldhulp", "faq:bijzondere-bijstand", "faq:zorgtoeslag",
    "service:thuisadministratie",
    "faq:geldzorgen", "faq:huishoudelijke-hulp", "faq:hulpmiddelen-mobiliteit", "faq:wmo-vervoer",
    "faq:woningaanpassing", "service:wijkverpleging", "faq:persoonsalarmering",
    "service:wmo-loket", "service:mantelzorgsteunpunt", "service:respijtzorg-logeeropvang",
    "faq:mantelzorgwaardering", "faq:werk-en-mantelzorg", "faq:jonge-mantelzorgers",
    "faq:welke-wet-betaalt", "faq:wlz-indicatie-ciz", "faq:keukentafelgesprek-voorbereiden",
    "faq:pgb-of-zorg-in-natura", "faq:eigen-bijdrage-cak", "faq:bezwaar-maken",
    "faq:jeugdhulp", "faq:eenzaamheid", "service:dagbesteding", "service:ouderenadviseur",
    "faq:dementie-eerste-signalen", "service:dementie-casemanager",
    "service:mee-clientondersteuning",
]
TREE_TOKEN = "o:"


def shown(turn: Turn) -> set[str]:
    """The entries a turn showed."""
    return {effect.detail for effect in turn.effects if effect.kind == "shown"}


def paths(engine: Engine) -> dict[str, tuple[int, int, int]]:
    """Per goal: taps, words on the screen in total, and words of the goal's own text."""
    start = engine.handle(State(), Start())
    found: dict[str, tuple[int, int, int]] = {}
    queue: deque[tuple[Turn, int]] = deque([(start, 0)])
    seen: set[str] = set()
    while queue:
        turn, taps = queue.popleft()
        for reply in turn.replies:
            for option in reply.options:
                if not option.token.startswith(TREE_TOKEN) or option.token in seen:
                    continue
                seen.add(option.token)
                after = engine.handle(turn.state, Choice(option.token))
                words = sum(len(r.text.split()) for r in after.replies)
                for goal in shown(after) - found.keys():
                    own = next((len(r.text.split()) for r in after.replies
                                if _is_goal_text(engine, goal, r.text)), 0)
                    found[goal] = (taps + 1, words, own)
                queue.append((after, taps + 1))
    return found


def _is_goal_text(engine: Engine, goal: str, text: str) -> bool:
    kind, _, item_id = goal.partition(":")
    if kind == "service":
        return text.startswith(f"📍 {engine.kb.services[item_id].name.get('nl')}")
    return text.startswith(f"❓ {engine.kb.faq[item_id].question.get('nl')}")


def main() -> None:
    """Print one line per goal and the medians."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("knowledge")
    engine = Engine(load_knowledge_base(folder))
    found = paths(engine)
    taps, screens, owns = [], [], []
    for goal in GOALS:
        if goal not in found:
            print(f"  {goal:<42} not reachable by tapping")
            continue
        tap, words, own = found[goal]
        taps.append(tap)
        screens.append(words)
        owns.append(own)
        print(f"  {goal:<42} {tap} taps, {words:>4} words on the screen, {own:>4} of its own")
    print(f"reached {len(taps)} of {len(GOALS)} goals; median taps {statistics.median(taps):g}, "
          f"median words on the screen {statistics.median(screens):g}, median words of the "
          f"goal's own text {statistics.median(owns):g}; first texts of at most 60 words: "
          f"{sum(own <= 60 for own in owns)} of {len(owns)}")


if __name__ == "__main__":
    main()
