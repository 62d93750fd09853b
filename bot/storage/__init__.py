"""All durable state, in one SQLite file: the store, its records, schema and group commit.

`async with Storage.open(path) as storage:`; the rest of the bot imports from here.
"""

from bot.storage.records import (
    ERASE_TRACES,
    FILE_MARK,
    THEN,
    OutboxItem,
    Outgoing,
    PendingUpdate,
    Request,
    SchemaTooNew,
    attached_file,
    iso_week,
)
from bot.storage.schema import MIGRATIONS
from bot.storage.store import Storage
from bot.storage.writer import Writer

__all__ = [
    "ERASE_TRACES", "FILE_MARK", "MIGRATIONS", "THEN", "OutboxItem", "Outgoing",
    "PendingUpdate", "Request", "SchemaTooNew", "Storage", "Writer", "attached_file",
    "iso_week",
]
