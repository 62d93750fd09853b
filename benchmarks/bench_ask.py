"""Benchmark `ask`: index build time, questions per second, p50/p99 latency and memory.

Runs on the default knowledge base and on a generated one with 2,000 services and
2,000 FAQ entries. Usage: python benchmarks/bench_ask.py [--questions N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engine.conversation import Engine, State  # noqa: E402
from bot.kb.loader import load_knowledge_base  # noqa: E402

WORDS = (
    "zorg hulp thuis geld schulden huur wonen vervoer taxi rolstoel scootmobiel traplift "
    "douche mantelzorg respijt logeren dagbesteding dementie eenzaam buurt vrijwilliger "
    "administratie formulieren toeslag uitkering bijstand werk school opvoeding jeugd "
    "kinderen ouder moeder vader partner verpleging wijkverpleging huishouden poetsen "
    "maaltijd boodschappen alarm vallen ziekenhuis revalidatie pgb wmo wlz indicatie "
    "bezwaar klacht verlof overbelast moe advies gesprek keukentafel aanvraag aanpassing "
    "verhuizen woning energie voedselbank taal lezen schrijven digitaal computer "
    "telefoon post brief rekening deurwaarder beschermingsbewind mentor curatele"
).split()
VILLAGES = "Melick Vlodrop Posterholt Herkenbosch Montfort Odilienberg".split()


def generate_kb(folder: Path, services: int, faqs: int, rng: random.Random) -> None:
    """Write a large but valid knowledge base of random social-domain entries."""
    def phrase(count: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(count))

    service_rows = [
        {
            "id": f"dienst-{i}",
            "name": f"{phrase(2).capitalize()} {rng.choice(VILLAGES)} {i}",
            "summary": phrase(10).capitalize() + ".",
            "details": phrase(25).capitalize() + ".",
            "keywords": [phrase(1) for _ in range(8)],
            "examples": [phrase(7) for _ in range(4)],
            "contact": {"phone": "0475 538 888", "website": f"https://www.example.nl/d{i}"},
            "hours": {"ma": "09:00-17:00", "di": "09:00-12:00, 13:00-17:00"},
        }
        for i in range(services)
    ]
    faq_rows = [
        {
            "id": f"vraag-{i}",
            "question": phrase(6).capitalize() + "?",
            "answer": phrase(40).capitalize() + ".",
            "keywords": [phrase(1) for _ in range(6)],
            "examples": [phrase(8) for _ in range(4)],
            "services": [f"dienst-{rng.randrange(services)}"],
        }
        for i in range(faqs)
    ]
    (folder / "services.yaml").write_text(yaml.safe_dump({"services": service_rows}))
    (folder / "faq.yaml").write_text(yaml.safe_dump({"faq": faq_rows}))
    (folder / "tree.yaml").write_text(yaml.safe_dump({
        "start": "begin",
        "nodes": {"begin": {"text": "Waar gaat je vraag over?", "options": [
            {"label": "Geld", "services": ["dienst-0"]},
            {"label": "Regels", "faq": ["vraag-0"]},
        ]}},
    }))
    (folder / "gemeente.yaml").write_text(yaml.safe_dump({
        "name": "Benchdorp", "gemeenten": ["Benchdorp"],
        "team": {"name": "Meedenkers", "phone": "0475 538 888"},
        "huisartsenpost": {"name": "Huisartsenpost"},
        "privacy": {"contact": "privacy@example.nl"},
    }))


def questions(count: int, rng: random.Random) -> list[str]:
    """Resident-like questions with a few typos, built from the same vocabulary."""
    openers = ["ik zoek hulp bij", "waar kan ik terecht voor", "mijn moeder heeft", "hoe regel ik",
               "wie helpt met", "ik heb een vraag over"]
    result = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
        if rng.random() < 0.3:  # a typo: drop one letter
            index = rng.randrange(len(words))
            word = words[index]
            if len(word) > 4:
                cut = rng.randrange(1, len(word) - 1)
                words[index] = word[:cut] + word[cut + 1:]
        result.append(f"{rng.choice(openers)} {' '.join(words)}")
    return result


def rss_mib() -> float:
    """Peak resident memory of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, folder: Path, asked: list[str]) -> None:
    """Build the engine once, then time every question separately."""
    start = time.perf_counter()
    kb = load_knowledge_base(folder)
    loaded = time.perf_counter()
    engine = Engine(kb)
    built = time.perf_counter()
    state = State()
    latencies = []
    for question in asked:
        begin = time.perf_counter_ns()
        engine.understand(state, question)
        latencies.append((time.perf_counter_ns() - begin) / 1e6)
    latencies.sort()
    total = sum(latencies) / 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{label}: {len(kb.services)} services, {len(kb.faq)} FAQ entries")
    print(f"  load YAML + validate: {loaded - start:6.2f} s")
    print(f"  index build:          {built - loaded:6.2f} s")
    print(f"  questions per second: {len(asked) / total:8.0f}")
    print(f"  latency p50:          {statistics.median(latencies):8.3f} ms")
    print(f"  latency p99:          {p99:8.3f} ms")
    print(f"  peak RSS so far:      {rss_mib():8.1f} MiB")


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=3000)
    args = parser.parse_args()
    rng = random.Random(20261122)
    asked = questions(args.questions, rng)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, one process")
    measure("default knowledge base (knowledge/)", ROOT / "knowledge", asked)
    with tempfile.TemporaryDirectory() as tmp:
        generate_kb(Path(tmp), 2000, 2000, rng)
        measure("generated knowledge base", Path(tmp), asked)


if __name__ == "__main__":
    main()
