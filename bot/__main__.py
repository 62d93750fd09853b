"""`python -m bot` is the same as the `wegwijzer` command."""

from bot.cli import main

raise SystemExit(main())
