"""A separate process that scrubs texts: `python -m bot.stats.scrub_worker`.

One JSON string per line in, one scrubbed JSON string per line out. deduce needs about a
gigabyte; in its own process that memory is given back when the worker exits after being
idle, and the bot itself stays small.
"""

from __future__ import annotations

import json
import sys

from bot.stats.scrub import Scrubber


def main() -> int:
    """Scrub lines from standard input until it closes."""
    scrubber = Scrubber()
    for line in sys.stdin:
        text = json.loads(line)
        sys.stdout.write(json.dumps(scrubber.scrub(str(text)), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
