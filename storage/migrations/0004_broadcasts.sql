-- Broadcasts (SPEC 2.5): the announcement and a durable outbox, one row per recipient, written
-- in one transaction before the first send so that a crash or restart loses nobody.
CREATE TABLE broadcasts (
    id                  INTEGER PRIMARY KEY,
    created_by          INTEGER NOT NULL,          -- Telegram id of the cadre or admin
    sender_unit_id      INTEGER REFERENCES units(id),  -- a cadre's unit; NULL for admins
    text_html           TEXT NOT NULL,
    media_kind          TEXT CHECK (media_kind IN ('photo', 'document')),
    media_file_id       TEXT,
    activity_id         INTEGER REFERENCES activities(id),  -- optional "open activity" button
    audience_kind       TEXT NOT NULL CHECK (audience_kind IN ('all', 'units', 'activity', 'cadres')),
    audience_units      TEXT NOT NULL DEFAULT '[]',  -- JSON list of unit ids for 'units'
    audience_activity   INTEGER REFERENCES activities(id),
    status              TEXT NOT NULL CHECK (status IN
                        ('scheduled', 'sending', 'paused', 'done', 'cancelled')),
    scheduled_at        TEXT,
    created_at          TEXT NOT NULL,
    started_at          TEXT,
    finished_at         TEXT,
    total               INTEGER NOT NULL DEFAULT 0,
    progress_chat_id    INTEGER,
    progress_message_id INTEGER,
    CHECK ((media_kind IS NULL) = (media_file_id IS NULL))
);
CREATE INDEX broadcasts_due ON broadcasts(status, scheduled_at);

CREATE TABLE broadcast_recipients (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
    member_id    INTEGER NOT NULL REFERENCES members(id),
    telegram_id  INTEGER NOT NULL,
    language     TEXT NOT NULL DEFAULT 'vi',   -- the recipient's, for the button label
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sent', 'failed', 'blocked')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    message_id   INTEGER,
    error        TEXT,
    updated_at   TEXT,
    PRIMARY KEY (broadcast_id, member_id)
) WITHOUT ROWID;
CREATE INDEX broadcast_recipients_state ON broadcast_recipients(broadcast_id, state, member_id);
