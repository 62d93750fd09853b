"""Scrub questions the bot did not understand before they are kept: names, phone numbers,
BSN, e-mail addresses, street addresses and postcodes.

deduce (a Dutch de-identification library) finds names and addresses; it needs about a
gigabyte and some seconds to load, so it is loaded once, in a thread, on first use. The
regular expressions run first and catch the numbers whatever deduce makes of them.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_PATTERNS = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[EMAIL]"),
    (re.compile(r"\bNL\d{2}\s?[A-Z]{4}(\s?\d{2,4}){3}\b", re.IGNORECASE), "[IBAN]"),
    (re.compile(r"(\+31|0031|\b0)[\s-]?\d([\s-]?\d){8}\b"), "[TELEFOON]"),
    (re.compile(r"\b\d{4}\s?[A-Z]{2}\b"), "[POSTCODE]"),
    (re.compile(r"\b\d{8,9}\b"), "[NUMMER]"),  # BSN and other long numbers
)


_deduce: Any = None  # one per process: loading it again would cost seconds and memory
_lock = threading.Lock()


def _engine() -> Any:
    global _deduce
    with _lock:
        if _deduce is None:
            import deduce  # heavy: only when the first question needs it

            _deduce = deduce.Deduce()
        return _deduce


class Scrubber:
    """Thread-safe; `scrub` blocks, so call it from a worker thread."""

    def scrub(self, text: str) -> str:
        """The text with personal details replaced by [LABELS]."""
        for pattern, label in _PATTERNS:
            text = pattern.sub(label, text)
        result = _engine().deidentify(text)
        return str(result.deidentified_text)
