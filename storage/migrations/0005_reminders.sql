-- Scheduled messages (SPEC 2.3) are derived from activities and registrations; this log only
-- says which were sent. Its key includes the time the message was anchored to (the start, the
-- deadline or the end), so moving an activity makes its reminders due again at the new time.
-- A row is written in state 'sending' before the message goes out and updated after: a crash
-- in between leaves 'sending' rows, re-sent at start-up (at most the messages in flight).
CREATE TABLE reminder_log (
    kind           TEXT NOT NULL CHECK (kind IN ('reminder', 'deadline_digest', 'thank_you')),
    activity_id    INTEGER NOT NULL REFERENCES activities(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    offset_minutes INTEGER NOT NULL,
    anchor_at      TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'dropped', 'blocked', 'failed')),
    claimed_at     TEXT NOT NULL,
    sent_at        TEXT,
    message_id     INTEGER,
    error          TEXT,
    PRIMARY KEY (kind, activity_id, member_id, offset_minutes, anchor_at)
) WITHOUT ROWID;
CREATE INDEX reminder_log_sending ON reminder_log(state) WHERE state = 'sending';
