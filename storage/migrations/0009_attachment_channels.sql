-- Initiative attachments from every channel (issue 14): a Telegram file id, or on Zalo the name
-- of an image the Zalo channel stored in the bot's files folder. Each attachment says which
-- channel its reference belongs to, so that each channel re-sends what it can (its own file
-- ids) and reads the bytes of the others'. Every attachment so far came from Telegram.
ALTER TABLE initiative_attachments ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram'
    CHECK (channel IN ('telegram', 'zalo'));
