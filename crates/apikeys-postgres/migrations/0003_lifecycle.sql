-- The key lifecycle: owners, suspension, last-used times, rotation links, and the audit
-- trail. Existing rows stay valid: every new column is optional or has a default.
ALTER TABLE apikeys
    ADD COLUMN owner       text,
    ADD COLUMN disabled    boolean NOT NULL DEFAULT false,
    ADD COLUMN last_used   timestamptz,
    ADD COLUMN predecessor text COLLATE "C",
    ADD COLUMN successor   text COLLATE "C";

-- `list --owner ID` reads one owner's keys newest first from this index, not by a scan.
CREATE INDEX apikeys_owner_created_prefix ON apikeys (owner, created DESC, prefix DESC)
    WHERE owner IS NOT NULL;

-- Append-only: one row per change and key (a roll has a row under each of its two keys),
-- written in the same transaction as the change. `event` is the core's `AuditEvent` as
-- JSON; `action` and `actor` are copied out of it for queries by hand. No foreign key to
-- `apikeys`: a deleted key keeps its history.
CREATE TABLE apikeys_events (
    id     bigserial PRIMARY KEY,
    prefix text COLLATE "C" NOT NULL,
    at     timestamptz NOT NULL,
    action text NOT NULL,
    actor  text,
    event  jsonb NOT NULL CHECK (jsonb_typeof(event) = 'object')
);

-- `history PREFIX`: one key's events in the order they were written.
CREATE INDEX apikeys_events_prefix ON apikeys_events (prefix, id);
