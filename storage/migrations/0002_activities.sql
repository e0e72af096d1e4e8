-- Volunteer activities (SPEC 2.2): campaigns, activities, registration questions, registrations
-- with capacity and waitlist, attendance with hours credited, and check-in tokens.
-- Times are UTC ISO-8601 text (storage.db.to_db_time); campaign dates are local YYYY-MM-DD.

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    unit_id     INTEGER REFERENCES units(id),  -- NULL: a campaign of the whole union
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL,
    created_by  INTEGER NOT NULL,              -- Telegram id of the cadre or admin
    created_at  TEXT NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE UNIQUE INDEX campaigns_name ON campaigns(name COLLATE NOCASE);

CREATE TABLE activities (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL
                     CHECK (kind IN ('regular', 'on_the_spot', 'campaign', 'youth_project')),
    campaign_id      INTEGER REFERENCES campaigns(id),
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    open_to          TEXT NOT NULL CHECK (open_to IN ('unit', 'all')),
    place            TEXT NOT NULL,
    starts_at        TEXT NOT NULL,
    ends_at          TEXT NOT NULL,
    deadline_at      TEXT NOT NULL,
    capacity         INTEGER CHECK (capacity IS NULL OR capacity > 0),  -- NULL: no limit
    hours            REAL NOT NULL CHECK (hours >= 0),
    reminder_offsets TEXT,             -- JSON list of minutes; NULL: the configured default
    status           TEXT NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'closed', 'cancelled')),
    created_by       INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    cancelled_at     TEXT,
    CHECK (ends_at > starts_at),
    CHECK (deadline_at <= starts_at)
);
CREATE INDEX activities_upcoming ON activities(status, ends_at, starts_at);
CREATE INDEX activities_unit ON activities(unit_id, starts_at);
CREATE INDEX activities_campaign ON activities(campaign_id) WHERE campaign_id IS NOT NULL;

CREATE TABLE activity_questions (
    id          INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    prompt      TEXT NOT NULL,
    choices     TEXT,                  -- JSON list of options; NULL: free text
    required    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (activity_id, position)
);

-- One row per (activity, member), ever: cancelling and registering again reuse the row, so the
-- UNIQUE constraint is the last line of defence against double registration.
CREATE TABLE registrations (
    id             INTEGER PRIMARY KEY,
    activity_id    INTEGER NOT NULL REFERENCES activities(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    status         TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    waitlist_seq   INTEGER,            -- order of arrival on the waitlist; NULL unless waitlisted
    answers        TEXT NOT NULL DEFAULT '{}',
    registered_at  TEXT NOT NULL,
    confirmed_at   TEXT,
    cancelled_at   TEXT,
    attended_at    TEXT,
    attendance_by  INTEGER,            -- Telegram id of the cadre who ticked; NULL: QR check-in
    walk_in        INTEGER NOT NULL DEFAULT 0,
    hours_credited REAL NOT NULL DEFAULT 0,
    thanked_at     TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (activity_id, member_id),
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL)),
    CHECK (attended_at IS NULL OR status = 'confirmed')
);
CREATE INDEX registrations_waitlist ON registrations(activity_id, waitlist_seq)
    WHERE status = 'waitlisted';
CREATE INDEX registrations_member ON registrations(member_id, status);
CREATE INDEX registrations_to_thank ON registrations(activity_id)
    WHERE attended_at IS NOT NULL AND thanked_at IS NULL;

-- Check-in QR tokens: unguessable (secrets.token_urlsafe(16)); valid from one hour before the
-- start to the end of the activity, which is derived from the activity so edits carry over.
CREATE TABLE checkin_tokens (
    token       TEXT PRIMARY KEY,
    activity_id INTEGER NOT NULL UNIQUE REFERENCES activities(id),
    created_at  TEXT NOT NULL
);
