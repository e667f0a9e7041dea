-- Usage limits (issue 14): a rate limit and credits with a refill. The rate limit and the
-- refill are kept as the core writes them (`100/s,burst=20`, `1000/month`, `500/12h`), so
-- that psql shows what the `apikeys` command shows and one parser, the core's, reads them;
-- the CHECKs keep out what is plainly not such a text, and a row the core still rejects
-- reads as corrupt. Credits are all or nothing: a count and the start of its period, and
-- optionally a refill. Existing rows have neither (NULL). The NOTIFY trigger of 0002 fires
-- for every UPDATE of a row, so spending and edits of these columns reach every cache.
ALTER TABLE apikeys
    ADD COLUMN rate_limit text
        CHECK (rate_limit ~ '^[0-9]+/[0-9]*[a-z]+(,burst=[0-9]+)?$'),
    ADD COLUMN credits_remaining bigint
        -- 2^53 - 1: the core's MAX_CREDITS.
        CHECK (credits_remaining BETWEEN 0 AND 9007199254740991),
    ADD COLUMN credits_refill text
        CHECK (credits_refill ~ '^[0-9]+/[0-9]*[a-z]+$'),
    ADD COLUMN credits_period_start timestamptz,
    ADD CONSTRAINT apikeys_credits_whole CHECK (
        (credits_remaining IS NULL) = (credits_period_start IS NULL)
        AND (credits_refill IS NULL OR credits_remaining IS NOT NULL)
    );
