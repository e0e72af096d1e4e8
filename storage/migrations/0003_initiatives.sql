-- "Tuổi trẻ sáng tạo" initiatives (SPEC 2.4): the initiative with its lifecycle state, its
-- attachments (Telegram file ids), the history of every state change and members' supports.

-- A draft has no code yet; the code TTST-<year>-<seq> is given on the first submission and kept.
-- ``version`` grows on every write so that a press made on an old view is refused as stale.
CREATE TABLE initiatives (
    id                INTEGER PRIMARY KEY,
    code              TEXT UNIQUE,
    code_year         INTEGER,
    code_seq          INTEGER,
    author_member_id  INTEGER NOT NULL REFERENCES members(id),
    unit_id           INTEGER NOT NULL REFERENCES units(id),
    title             TEXT NOT NULL DEFAULT '',
    field             TEXT CHECK (field IS NULL OR field IN
                          ('digital', 'administrative', 'professional', 'research', 'community',
                           'other')),
    problem           TEXT NOT NULL DEFAULT '',
    solution          TEXT NOT NULL DEFAULT '',
    benefit           TEXT NOT NULL DEFAULT '',
    coauthors         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                          ('draft', 'submitted', 'in_review', 'needs_revision', 'accepted',
                           'rejected', 'recognised', 'withdrawn')),
    recognition_level TEXT CHECK (recognition_level IS NULL OR recognition_level IN
                          ('unit', 'bloc')),
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    submitted_at      TEXT,              -- the latest (re)submission: the review queue's order
    decided_at        TEXT,              -- accepted or rejected
    UNIQUE (code_year, code_seq),
    CHECK ((code IS NULL) = (code_seq IS NULL)),
    CHECK ((status = 'recognised') = (recognition_level IS NOT NULL))
);
CREATE INDEX initiatives_author ON initiatives(author_member_id, status);
CREATE INDEX initiatives_queue ON initiatives(unit_id, status, submitted_at);
CREATE INDEX initiatives_public ON initiatives(status, field, decided_at);

CREATE TABLE initiative_attachments (
    id             INTEGER PRIMARY KEY,
    initiative_id  INTEGER NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('document', 'photo')),
    file_id        TEXT NOT NULL,
    file_unique_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    size           INTEGER,
    mime           TEXT,
    added_at       TEXT NOT NULL,
    UNIQUE (initiative_id, file_unique_id)
);

-- Who changed what when; ``actor_member_id`` is NULL for a config admin with no member profile.
CREATE TABLE initiative_history (
    id                 INTEGER PRIMARY KEY,
    initiative_id      INTEGER NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
    actor_telegram_id  INTEGER,
    actor_member_id    INTEGER REFERENCES members(id),
    actor_role         TEXT NOT NULL,
    from_status        TEXT NOT NULL,
    to_status          TEXT NOT NULL,
    comment            TEXT,
    at                 TEXT NOT NULL
);
CREATE INDEX initiative_history_of ON initiative_history(initiative_id, id);

-- One support per member per initiative: pressing "Ủng hộ" again withdraws it.
CREATE TABLE initiative_supports (
    initiative_id INTEGER NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (initiative_id, member_id)
) WITHOUT ROWID;
CREATE INDEX initiative_supports_member ON initiative_supports(member_id);
