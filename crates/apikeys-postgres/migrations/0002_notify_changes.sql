-- Every change to a key row, by any writer (a server, the `apikeys` command, psql), notifies
-- channel `apikeys_changed` with the row's prefix, so that every PostgresStore drops its
-- cached copy. An empty payload means "forget everything": TRUNCATE, or a prefix too long
-- for a notification payload (PostgreSQL's limit is 8000 bytes).
CREATE FUNCTION apikeys_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('apikeys_changed', '');
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('apikeys_changed',
            CASE WHEN octet_length(OLD.prefix) < 4000 THEN OLD.prefix ELSE '' END);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('apikeys_changed',
            CASE WHEN octet_length(NEW.prefix) < 4000 THEN NEW.prefix ELSE '' END);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER apikeys_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON apikeys
    FOR EACH ROW EXECUTE FUNCTION apikeys_notify_change();

CREATE TRIGGER apikeys_notify_truncate
    AFTER TRUNCATE ON apikeys
    FOR EACH STATEMENT EXECUTE FUNCTION apikeys_notify_change();
