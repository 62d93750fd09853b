"""The terminal channel: `wegwijzer chat`, with buttons as numbered choices."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.engine.conversation import Choice, Command, Engine, Event, Reply, Start, State, Text


def render(replies: Iterable[Reply]) -> tuple[str, list[str]]:
    """Text for the terminal, and the tokens behind the numbers shown."""
    lines: list[str] = []
    tokens: list[str] = []
    for reply in replies:
        lines.append(reply.text)
        for option in reply.options:
            tokens.append(option.token)
            lines.append(f"  {len(tokens)}) {option.label}")
        lines.append("")
    return "\n".join(lines), tokens


def to_event(line: str, tokens: list[str]) -> Event:
    """A typed line as an engine event: a number picks a button, /word is a command."""
    stripped = line.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(tokens):
        return Choice(tokens[int(stripped) - 1])
    if stripped.lower() == "/start":
        return Start(terminal=True)  # the terminal's own privacy note, not Telegram's
    if stripped.startswith("/") and len(stripped) > 1 and " " not in stripped:
        return Command(stripped[1:])
    return Text(line)


def run_chat(
    engine: Engine,
    read_line: Callable[[], str],
    write: Callable[[str], None],
) -> int:
    """Talk until end of input or /stop; returns the exit code."""
    state = State()
    turn = engine.handle(state, Start(terminal=True))
    state = turn.state
    output, tokens = render(turn.replies)
    write(output)
    while True:
        try:
            line = read_line()
        except (EOFError, KeyboardInterrupt):
            write("Tot ziens! / Goodbye!")
            return 0
        if line.strip().lower() in ("/stop", "/quit", "/exit"):
            write("Tot ziens! / Goodbye!")
            return 0
        turn = engine.handle(state, to_event(line, tokens))
        state = turn.state
        output, new_tokens = render(turn.replies)
        tokens = new_tokens or tokens
        write(output)
