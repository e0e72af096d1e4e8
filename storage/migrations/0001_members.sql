-- Units (member organisations), members, roles and the durable state of multi-step flows.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_folded TEXT NOT NULL,           -- lower-case, no diacritics: "bo tu phap"
    active      INTEGER NOT NULL DEFAULT 1
);

-- A member row outlives /forgetme: personal fields are erased and telegram_id set to NULL,
-- unit_id stays, so per-unit counts remain right while nothing points back to the person.
CREATE TABLE members (
    id                  INTEGER PRIMARY KEY,
    telegram_id         INTEGER UNIQUE,
    full_name           TEXT NOT NULL DEFAULT '',
    username            TEXT,
    unit_id             INTEGER REFERENCES units(id),
    phone               TEXT,
    email               TEXT,
    language            TEXT NOT NULL DEFAULT 'vi',
    consent_at          TEXT,
    announcements_muted INTEGER NOT NULL DEFAULT 0,
    reminders_muted     INTEGER NOT NULL DEFAULT 0,
    reachable           INTEGER NOT NULL DEFAULT 1,
    deleted_at          TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX members_unit ON members(unit_id) WHERE deleted_at IS NULL;
CREATE INDEX members_username ON members(username COLLATE NOCASE) WHERE username IS NOT NULL;

-- Roles are keyed by Telegram id so an admin can grant one before the person has onboarded.
CREATE TABLE roles (
    telegram_id INTEGER PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('cadre', 'admin')),
    unit_id     INTEGER REFERENCES units(id),
    granted_by  INTEGER,
    granted_at  TEXT NOT NULL,
    CHECK ((role = 'cadre') = (unit_id IS NOT NULL))
);

-- Where each person stands in a multi-step flow, so that a restart loses nothing.
CREATE TABLE conversation_state (
    telegram_id INTEGER PRIMARY KEY,
    flow        TEXT NOT NULL,
    step        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
);
