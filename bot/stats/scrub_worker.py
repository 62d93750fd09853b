"""A separate process that scrubs texts: `python -m bot.stats.scrub_worker`.

One JSON string per line in, one scrubbed JSON string per line out. deduce needs about a
gigabyte; in its own process that memory is given back when the worker exits after being
idle, and the bot itself stays small.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TextIO


def _claim_stdout() -> TextIO:
    """Keep standard output for the answers alone; everything else goes to standard error.

    deduce calls `logging.basicConfig(stream=sys.stdout, level=DEBUG)` on import and logs
    while it builds its tables: one such line on the answer channel broke the protocol.
    """
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    # Configured before deduce is imported, so its basicConfig does nothing; WARNING keeps
    # its debug lines (which may quote the text) out of the logs.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    return answers


def main() -> int:
    """Scrub lines from standard input until it closes."""
    answers = _claim_stdout()
    from bot.stats.scrub import Scrubber

    scrubber = Scrubber()
    for line in sys.stdin:
        text = json.loads(line)
        answers.write(json.dumps(scrubber.scrub(str(text)), ensure_ascii=False) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
