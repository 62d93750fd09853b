"""The database's schema, as numbered migrations (PRAGMA user_version counts them)."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE updates (
        update_id   INTEGER PRIMARY KEY,
        payload     TEXT,            -- the raw update; cleared once handled
        received_at REAL NOT NULL,
        handled_at  REAL
    );
    CREATE INDEX updates_pending ON updates(update_id) WHERE handled_at IS NULL;
    CREATE TABLE residents (
        chat_id    INTEGER PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at REAL NOT NULL,
        blocked    INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id    INTEGER NOT NULL,
        method     TEXT NOT NULL,
        params     TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX outbox_chat ON outbox(chat_id, id);
    CREATE TABLE told_groups (
        chat_id INTEGER PRIMARY KEY
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: the warm handoff
    """
    CREATE TABLE requests (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id         INTEGER NOT NULL,      -- the resident
        status          TEXT NOT NULL,         -- waiting | claimed | closed
        urgent          INTEGER NOT NULL DEFAULT 0,
        shared          TEXT NOT NULL,         -- JSON: only what the resident agreed to share
        name            TEXT,                  -- first name, only when the resident chose so
        callback_phone  TEXT,
        callback_moment TEXT,
        created_at      REAL NOT NULL,
        claimed_at      REAL,
        closed_at       REAL,
        claimed_by      INTEGER,
        claimed_name    TEXT,
        thread_id       INTEGER,               -- forum topic in the staff group
        card_message_id INTEGER,
        remind_at       REAL,                  -- next reminder while nobody claimed it
        rating          INTEGER,
        remark          TEXT
    );
    CREATE INDEX requests_resident ON requests(chat_id, status);
    CREATE INDEX requests_thread ON requests(thread_id);
    CREATE INDEX requests_reminder ON requests(remind_at) WHERE status = 'waiting';
    CREATE TABLE staff_messages (              -- staff-group messages that belong to a request
        message_id INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE
    );
    ALTER TABLE outbox ADD COLUMN request_id INTEGER;  -- staff messages: route by request
    """,
    # 3: anonymous weekly statistics: counts per ISO week, never a resident
    """
    CREATE TABLE weekly_counts (
        week   TEXT NOT NULL,                  -- ISO week in Dutch time, e.g. 2026-W48
        metric TEXT NOT NULL,                  -- conversations, topics, shown, crises, …
        key    TEXT NOT NULL DEFAULT '',       -- e.g. the topic or "service:mee"
        count  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (week, metric, key)
    );
    CREATE TABLE unanswered (                  -- scrubbed questions the bot did not understand
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        week       TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 4: a kept question knows whose it was (a keyed pseudonym), so /vergeet erases it too
    """
    ALTER TABLE unanswered ADD COLUMN owner TEXT;
    CREATE INDEX unanswered_owner ON unanswered(owner);
    """,
)
