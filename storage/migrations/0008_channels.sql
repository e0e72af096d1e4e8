-- One member, many channels (SPEC 2.8): a member may be reached on Telegram, on Zalo or both.
-- Who did something is a member id from now on, not a Telegram id (a Zalo-only cadre has none):
-- creators, grantors, the cadre who recorded attendance or decided a walk-in. 0 stands for
-- nobody known (a config admin without a member profile, or a person already erased).

-- The Zalo account (Zalo's hex user id), the channel a member wants announcements and
-- reminders on (NULL: the one they used last) and the one they used last.
ALTER TABLE members ADD COLUMN zalo_id TEXT;
ALTER TABLE members ADD COLUMN notify_channel TEXT CHECK (notify_channel IN ('telegram', 'zalo'));
ALTER TABLE members ADD COLUMN last_channel TEXT CHECK (last_channel IN ('telegram', 'zalo'));
CREATE UNIQUE INDEX members_zalo ON members(zalo_id) WHERE zalo_id IS NOT NULL;
UPDATE members SET last_channel = 'telegram' WHERE telegram_id IS NOT NULL;

-- Where each person stands in a flow, keyed by channel and the channel's user id
-- ("telegram:123456", "zalo:6ede9afa66b88fe6d6a9"): someone not yet a member has no member id.
CREATE TABLE conversation_state_new (
    person      TEXT PRIMARY KEY,
    flow        TEXT NOT NULL,
    step        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO conversation_state_new (person, flow, step, data, updated_at)
SELECT 'telegram:' || telegram_id, flow, step, data, updated_at FROM conversation_state;
DROP TABLE conversation_state;
ALTER TABLE conversation_state_new RENAME TO conversation_state;

-- Roles belong to members (granted from the member picker, on any channel). A grant made
-- earlier to a Telegram id that never onboarded cannot be kept: there is no member to hold it.
CREATE TABLE roles_new (
    member_id   INTEGER PRIMARY KEY REFERENCES members(id),
    role        TEXT NOT NULL CHECK (role IN ('cadre', 'admin')),
    unit_id     INTEGER REFERENCES units(id),
    granted_by  INTEGER NOT NULL DEFAULT 0,      -- member id of the admin; 0: config or unknown
    granted_at  TEXT NOT NULL,
    CHECK ((role = 'cadre') = (unit_id IS NOT NULL))
);
INSERT INTO roles_new (member_id, role, unit_id, granted_by, granted_at)
SELECT m.id, r.role, r.unit_id, COALESCE(g.id, 0), r.granted_at
FROM roles r JOIN members m ON m.telegram_id = r.telegram_id
LEFT JOIN members g ON g.telegram_id = r.granted_by;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
CREATE INDEX roles_unit ON roles(role, unit_id);

-- "Who did it" columns: Telegram ids become member ids.
UPDATE activities SET created_by = COALESCE(
    (SELECT m.id FROM members m WHERE m.telegram_id = activities.created_by), 0);
UPDATE campaigns SET created_by = COALESCE(
    (SELECT m.id FROM members m WHERE m.telegram_id = campaigns.created_by), 0);
UPDATE broadcasts SET created_by = COALESCE(
    (SELECT m.id FROM members m WHERE m.telegram_id = broadcasts.created_by), 0);
UPDATE attendance SET recorded_by = COALESCE(
    (SELECT m.id FROM members m WHERE m.telegram_id = attendance.recorded_by), 0)
    WHERE recorded_by IS NOT NULL;
ALTER TABLE attendance_changes RENAME COLUMN by_telegram TO by_member;
UPDATE attendance_changes SET by_member = COALESCE(
    (SELECT m.id FROM members m WHERE m.telegram_id = attendance_changes.by_member), 0)
    WHERE by_member IS NOT NULL;
UPDATE walk_in_requests SET decided_by = COALESCE(
    (SELECT m.id FROM members m WHERE m.telegram_id = walk_in_requests.decided_by), 0)
    WHERE decided_by IS NOT NULL;
UPDATE initiative_history SET actor_member_id = COALESCE(actor_member_id,
    (SELECT m.id FROM members m WHERE m.telegram_id = initiative_history.actor_telegram_id));
ALTER TABLE initiative_history DROP COLUMN actor_telegram_id;

-- A Telegram or Zalo account unreachable (blocked the bot): per channel, not per member.
ALTER TABLE members ADD COLUMN zalo_reachable INTEGER NOT NULL DEFAULT 1;

-- One-time codes that link a second channel to a member: shown in one channel, typed in the
-- other; only a hash is kept, valid minutes, used once.
CREATE TABLE link_codes (
    code_hash   TEXT PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    channel     TEXT NOT NULL CHECK (channel IN ('telegram', 'zalo')),  -- where it will be typed
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) WITHOUT ROWID;
CREATE INDEX link_codes_member ON link_codes(member_id);

-- Wrong link codes per person (channel:user id): a few, then a pause.
CREATE TABLE link_attempts (
    person          TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    first_failed_at TEXT NOT NULL,
    locked_until    TEXT
) WITHOUT ROWID;

-- The numbered choices last shown on a channel without buttons, so that "2" means the same
-- after a restart as before it.
CREATE TABLE channel_menus (
    channel  TEXT NOT NULL,
    address  TEXT NOT NULL,
    options  TEXT NOT NULL,
    shown_at TEXT NOT NULL,
    PRIMARY KEY (channel, address)
) WITHOUT ROWID;

-- Files handed over as links (Zalo carries no documents): only a hash of each token is kept.
CREATE TABLE file_links (
    token_hash TEXT PRIMARY KEY,
    name       TEXT NOT NULL,        -- the stored file in the files folder
    filename   TEXT NOT NULL,
    mime       TEXT NOT NULL,
    member_id  INTEGER REFERENCES members(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    uses_left  INTEGER
) WITHOUT ROWID;
CREATE INDEX file_links_expiry ON file_links(expires_at);
CREATE INDEX file_links_member ON file_links(member_id) WHERE member_id IS NOT NULL;
