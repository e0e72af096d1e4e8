-- Notices (SPEC 2.2): what the bot owes registrants because an activity changed, was cancelled
-- or gave them a seat from the waitlist. Rows are written in the same transaction as the change
-- and delivered through the one courier (the pace of broadcasts and reminders); a row stays
-- 'pending' until its outcome is recorded, so a crash in between re-sends only what was in
-- flight. Address and language are read at send time. Kept apart from broadcasts so that the
-- cadres' /broadcasts reports show only what people composed.
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('activity_changed', 'activity_cancelled', 'promoted')),
    activity_id INTEGER NOT NULL REFERENCES activities(id),
    member_id   INTEGER NOT NULL REFERENCES members(id),
    payload     TEXT NOT NULL DEFAULT '{}',  -- JSON: for 'activity_changed', the before and after
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sent', 'failed', 'blocked', 'dropped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    message_id  INTEGER,
    error       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT
);
CREATE INDEX notices_pending ON notices(id) WHERE state = 'pending';
CREATE INDEX notices_member ON notices(member_id);

-- Why a broadcast was cancelled when nobody pressed "cancel" (its author lost the role that
-- allowed its audience before it fell due).
ALTER TABLE broadcasts ADD COLUMN cancel_reason TEXT;

-- When the bot last learnt a member's @username: /grant shows it, since usernames are reused
-- and only updated when their holder writes to the bot. NULL: before this was kept.
ALTER TABLE members ADD COLUMN username_at TEXT;
