-- The app's runtime role (the web tier and the workers connect as it): it reads and writes the
-- case tables, and may only append to the chronology. The tables belong to the role that runs
-- `escalation init` (the migrations); an owner can alter anything, so the runtime role must not
-- be that owner, nor a superuser. Run as the owner, in the app's database, after `escalation
-- init` and again after each upgrade (new tables get their grants then):
--
--   createuser escalation_app --pwprompt
--   psql -v ON_ERROR_STOP=1 -v runtime_role=escalation_app \
--        -f scripts/production/runtime-role.sql "postgresql://OWNER@DB/escalation"
--
-- It applies to the schema first on the owner's search path (normally public). Triggers already
-- refuse UPDATE and DELETE on `events` for everyone; the runtime role also lacks the privileges,
-- so neither a dropped trigger nor TRUNCATE (which fires no row trigger) rewrites the record.
SET escalation.runtime_role = :'runtime_role';

DO $grants$
DECLARE
    runtime text := current_setting('escalation.runtime_role');
    here text := current_schema();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime) THEN
        RAISE EXCEPTION 'role % does not exist: createuser % --pwprompt', runtime, runtime;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role % is a superuser: privileges would not bind it', runtime;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = here AND tablename = 'events'
               AND tableowner = runtime) THEN
        RAISE EXCEPTION 'role % owns the tables: run `escalation init` as another role', runtime;
    END IF;
    IF to_regclass(format('%I.events', here)) IS NULL THEN
        RAISE EXCEPTION 'no events table in schema %: run `escalation init` first', here;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', here, runtime);
    -- Whatever was granted before (say GRANT ALL), then exactly what the app needs.
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', here, runtime);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   here, runtime);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', here, runtime);
    -- The chronology and its seals: read and append only.
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.events FROM %I', here, runtime);
    IF to_regclass(format('%I.chain_anchors', here)) IS NOT NULL THEN
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.chain_anchors, %I.anchor_entries FROM %I',
                       here, here, runtime);
    END IF;
    -- The schema's version is the migrations' business.
    IF to_regclass(format('%I.alembic_version', here)) IS NOT NULL THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I.alembic_version FROM %I',
                       here, runtime);
    END IF;
    RAISE NOTICE 'role %: read and write in schema %, append only to events and seals', runtime, here;
END
$grants$;
