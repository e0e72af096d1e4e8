-- Attendance as a record of its own (SPEC 2.2, issue 13): one row per (activity, member) with
-- the hours credited and the unit the member belonged to when it was recorded, a log of every
-- record and correction (who, when, from → to, why), walk-ins waiting for a cadre, and wrong
-- typed check-in codes per member (a few, then a pause).
--
-- registrations loses attended_at, attendance_by, walk_in and hours_credited: a copy of
-- attendance beside the record would be a second source of truth. SQLite cannot drop columns
-- named in a CHECK, so the table is rebuilt (nothing references it by foreign key).

CREATE TABLE attendance (
    activity_id  INTEGER NOT NULL REFERENCES activities(id),
    member_id    INTEGER NOT NULL REFERENCES members(id),
    present      INTEGER NOT NULL CHECK (present IN (0, 1)),
    hours        REAL NOT NULL DEFAULT 0 CHECK (hours >= 0),
    unit_id      INTEGER REFERENCES units(id),   -- the member's unit when first recorded
    method       TEXT NOT NULL CHECK (method IN ('qr', 'cadre', 'walk_in')),
    recorded_at  TEXT NOT NULL,                  -- when the current state was set
    recorded_by  INTEGER,                        -- Telegram id of the cadre; NULL: own scan
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (activity_id, member_id),
    CHECK (present = 1 OR hours = 0)
) WITHOUT ROWID;
CREATE INDEX attendance_member ON attendance(member_id) WHERE present = 1;
CREATE INDEX attendance_unit ON attendance(unit_id, activity_id) WHERE present = 1;

-- Every change of an attendance row, appended in the same transaction as the change.
CREATE TABLE attendance_changes (
    id           INTEGER PRIMARY KEY,
    activity_id  INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    at           TEXT NOT NULL,
    by_telegram  INTEGER,                        -- the cadre; NULL: the member's own scan
    method       TEXT NOT NULL CHECK (method IN ('qr', 'cadre', 'walk_in')),
    from_present INTEGER CHECK (from_present IN (0, 1)),  -- NULL: nothing recorded before
    to_present   INTEGER NOT NULL CHECK (to_present IN (0, 1)),
    hours_from   REAL NOT NULL DEFAULT 0,
    hours_to     REAL NOT NULL,
    reason       TEXT,                           -- required when a cadre records absence
    FOREIGN KEY (activity_id, member_id) REFERENCES attendance(activity_id, member_id)
);
CREATE INDEX attendance_changes_of ON attendance_changes(activity_id, member_id, id);

-- A member who is not confirmed scans a valid code: no hours until a cadre confirms.
CREATE TABLE walk_in_requests (
    activity_id  INTEGER NOT NULL REFERENCES activities(id),
    member_id    INTEGER NOT NULL REFERENCES members(id),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined')),
    requested_at TEXT NOT NULL,
    decided_at   TEXT,
    decided_by   INTEGER,                        -- Telegram id of the cadre
    PRIMARY KEY (activity_id, member_id),
    CHECK ((status = 'pending') = (decided_at IS NULL))
) WITHOUT ROWID;
CREATE INDEX walk_in_pending ON walk_in_requests(activity_id, requested_at)
    WHERE status = 'pending';

-- Wrong typed codes: after a few within a span, the member waits before trying again.
CREATE TABLE checkin_attempts (
    member_id      INTEGER PRIMARY KEY REFERENCES members(id),
    failures       INTEGER NOT NULL,
    first_failed_at TEXT NOT NULL,
    locked_until   TEXT
);

-- Existing attendance moves over, counted for the member's current unit (the best known).
INSERT INTO attendance (activity_id, member_id, present, hours, unit_id, method, recorded_at,
                        recorded_by, updated_at)
SELECT r.activity_id, r.member_id, 1, r.hours_credited, m.unit_id,
       CASE WHEN r.walk_in THEN 'walk_in' WHEN r.attendance_by IS NULL THEN 'qr' ELSE 'cadre' END,
       r.attended_at, r.attendance_by, r.updated_at
FROM registrations r JOIN members m ON m.id = r.member_id
WHERE r.attended_at IS NOT NULL;

INSERT INTO attendance_changes (activity_id, member_id, at, by_telegram, method, from_present,
                                to_present, hours_from, hours_to, reason)
SELECT activity_id, member_id, recorded_at, recorded_by, method, NULL, 1, 0, hours, NULL
FROM attendance ORDER BY recorded_at, activity_id, member_id;

CREATE TABLE registrations_new (
    id             INTEGER PRIMARY KEY,
    activity_id    INTEGER NOT NULL REFERENCES activities(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    status         TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    waitlist_seq   INTEGER,
    answers        TEXT NOT NULL DEFAULT '{}',
    registered_at  TEXT NOT NULL,
    confirmed_at   TEXT,
    cancelled_at   TEXT,
    thanked_at     TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (activity_id, member_id),
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL))
);
INSERT INTO registrations_new (id, activity_id, member_id, status, waitlist_seq, answers,
                               registered_at, confirmed_at, cancelled_at, thanked_at, updated_at)
SELECT id, activity_id, member_id, status, waitlist_seq, answers, registered_at, confirmed_at,
       cancelled_at, thanked_at, updated_at
FROM registrations;
DROP TABLE registrations;
ALTER TABLE registrations_new RENAME TO registrations;
CREATE INDEX registrations_waitlist ON registrations(activity_id, waitlist_seq)
    WHERE status = 'waitlisted';
CREATE INDEX registrations_member ON registrations(member_id, status);

-- What the old CHECK (attended_at IS NULL OR status = 'confirmed') promised, across the two
-- tables: a member recorded present keeps a confirmed seat, and a record is never deleted.
CREATE TRIGGER registrations_keep_present_seat
BEFORE UPDATE OF status ON registrations
WHEN NEW.status != 'confirmed' AND EXISTS (
    SELECT 1 FROM attendance t
    WHERE t.activity_id = NEW.activity_id AND t.member_id = NEW.member_id AND t.present = 1)
BEGIN
    SELECT RAISE(ABORT, 'attendance: a member recorded present keeps a confirmed registration');
END;

CREATE TRIGGER attendance_present_needs_seat_insert
BEFORE INSERT ON attendance
WHEN NEW.present = 1 AND NOT EXISTS (
    SELECT 1 FROM registrations r
    WHERE r.activity_id = NEW.activity_id AND r.member_id = NEW.member_id
      AND r.status = 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'attendance: present needs a confirmed registration');
END;

CREATE TRIGGER attendance_present_needs_seat_update
BEFORE UPDATE OF present ON attendance
WHEN NEW.present = 1 AND NOT EXISTS (
    SELECT 1 FROM registrations r
    WHERE r.activity_id = NEW.activity_id AND r.member_id = NEW.member_id
      AND r.status = 'confirmed')
BEGIN
    SELECT RAISE(ABORT, 'attendance: present needs a confirmed registration');
END;

CREATE TRIGGER attendance_is_kept
BEFORE DELETE ON attendance
BEGIN
    SELECT RAISE(ABORT, 'attendance: records are corrected, never deleted');
END;
