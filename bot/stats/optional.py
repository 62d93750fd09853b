"""The optional extras: deduce scrubs kept questions ([scrub]), matplotlib draws charts
([charts]). Both are big, so the terminal chat installs without them."""

from __future__ import annotations

import importlib.util
import sys

SCRUB_INSTALL = "pip install 'wegwijzer[scrub]'"
CHARTS_INSTALL = "pip install 'wegwijzer[charts]'"


class ChartsMissing(Exception):
    """matplotlib is not installed; the message says how to install it."""

    def __init__(self) -> None:
        super().__init__(f"The chart needs matplotlib. Install it with: {CHARTS_INSTALL}")


def installed(module: str) -> bool:
    """Whether a module can be imported, without importing it (deduce loads for seconds)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None
