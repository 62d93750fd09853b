"""Every button's callback data, in one place, so no two features can claim the same token.

A token is a one-letter kind, and for most kinds a colon and the rest. Telegram allows 1–64
bytes; ids are at most 40 characters, so every token fits.
"""

from __future__ import annotations

# The resident's conversation (bot/engine/conversation.py): kind ":" rest.
TREE_OPTION = "o"  # o:<node>:<index>
SERVICE = "s"  # s:<service id>
FAQ = "f"  # f:<faq id>
LANGUAGE = "l"  # l:<nl|en>
GEMEENTE = "g"  # g:<index in gemeente.yaml's gemeenten>
MORE = "m"  # m:<service|faq>:<id>: "Vertel me meer", the whole card or explanation
# Single-letter buttons without a rest.
BACK, RESTART, SOMETHING_ELSE, HANDOFF, CONTINUE = "b", "r", "x", "h", "c"
CHECK_YES, CHECK_NO = "y", "n"  # the answers to the check-in after worrying words

# The warm handoff (bot/handoff/dialog.py): "k:" and the step.
HANDOFF_STEP = "k:"
YES, ADD_MESSAGE, TOGGLE_NAME, NO = "k:yes", "k:msg", "k:name", "k:no"
CALLBACK_YES, CALLBACK_NO, STOP, SKIP = "k:cb", "k:nocb", "k:stop", "k:skip"
TOGGLE_STORY = "k:story"  # share the resident's own recent messages, or not
MOMENT, RATING = "k:m:", "k:r:"  # followed by the moment, or the rating 1–5

# /vergeet's confirmation (bot/telegram/handlers/my_data.py).
FORGET_YES, FORGET_NO = "v:yes", "v:no"

# A request card's buttons in the staff group: "q:claim:<number>", "q:release:<number>".
CLAIM, RELEASE = "q:claim:", "q:release:"
STAFF_BUTTON_PATTERN = r"^q:(claim|release):\d+$"


def token(kind: str, *parts: object) -> str:
    """A button's callback data: the kind and its parts, joined by colons."""
    return ":".join((kind, *(str(part) for part in parts)))
