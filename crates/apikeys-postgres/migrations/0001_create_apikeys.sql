-- The key table. `prefix` uses the "C" collation so that its order is the byte order the
-- core pages by, and so that `LIKE 'abc%'` can use the primary key index.
-- `name_folded` is the name lower-cased by Rust (`str::to_lowercase`), so that search
-- ignores case exactly as the core does, whatever the database's locale.
CREATE TABLE apikeys (
    prefix      text COLLATE "C" NOT NULL PRIMARY KEY,
    hashed_key  text NOT NULL,
    name        text NOT NULL,
    name_folded text NOT NULL,
    created     timestamptz NOT NULL,
    expires     timestamptz,
    revoked     boolean NOT NULL DEFAULT false,
    scopes      text[] NOT NULL DEFAULT '{}',
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object')
);

-- Listing is newest first with keyset paging on (created, prefix).
CREATE INDEX apikeys_created_prefix ON apikeys (created DESC, prefix DESC);
