-- The audit log (NEN 7513) as its own append-only store, one row per audited interaction, with
-- the fields of src/audit/audit-record.ts as columns. AuditEvent is its FHIR view
-- (src/audit/audit-log-search.ts renders rows with src/audit/audit-event.ts); there are no
-- resource, history or search-index rows for audit records.
--   id          the AuditEvent id; request_id the HTTP request id (x-request-id)
--   event       interaction code (http.html), `operation`, or `login`
--   action      C/R/U/D/E; outcome 0/4/8 (AuditEvent.outcome) and failure (the first issue code)
--   agent       who acted: a row of audit_agent (below)
--   btg_reason  the reason given for break-the-glass access (purposeOfUse BTG), else null
--   address     the client's network address
--   patients    ids of the patients concerned; resources: Type/id[/_history/v] read or written
--   resource_type, query: the type and query of a search
-- Month partitions on recorded: retention drops a whole month at once (src/audit/audit-retention.ts);
-- audit_log_partition() creates a month ahead, the default partition takes anything else so an
-- insert never fails for want of a partition.
--
-- The user fields (NEN 7513 "gebruiker") repeat in every request of a token: the client system,
-- the professional (UZI/BIG/AGB system and value, name, role, Practitioner reference), the
-- organisation (URA/AGB, Organization reference) and the responsible user. They are kept once
-- in audit_agent, keyed by a hash of all of them, which halves the bytes of a read's record.
CREATE TABLE audit_agent (
  agent_id bigint PRIMARY KEY,
  client_id text,
  user_system text,
  user_value text,
  user_name text,
  user_role text,
  user_reference text,
  organization_system text,
  organization_value text,
  organization_reference text,
  responsible_system text,
  responsible_value text
);
CREATE INDEX audit_agent_user_idx ON audit_agent (user_value);
CREATE INDEX audit_agent_client_idx ON audit_agent (client_id);

-- The key of an agent: 64 bits of the md5 of its fields (nulls marked), the same for the same fields.
CREATE FUNCTION audit_agent_id(VARIADIC parts text[]) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ('x' || left(md5(array_to_string(parts, chr(31), chr(30))), 16))::bit(64)::bigint $$;

CREATE TABLE audit_log (
  id uuid NOT NULL,
  recorded timestamptz NOT NULL,
  request_id text,
  event text NOT NULL,
  operation text,
  action "char" NOT NULL,
  outcome smallint NOT NULL,
  failure text,
  agent bigint NOT NULL,
  btg_reason text,
  address text,
  patients text[] NOT NULL,
  resources text[] NOT NULL,
  resource_type text,
  query text
) PARTITION BY RANGE (recorded);

CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- `entity` matches a resource with or without its version: the index holds Type/id only.
CREATE FUNCTION audit_log_unversioned(resources text[]) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT coalesce(array_agg(split_part(r, '/_history/', 1)), '{}') FROM unnest(resources) AS r $$;

CREATE INDEX audit_log_recorded_idx ON audit_log (recorded);
CREATE INDEX audit_log_id_idx ON audit_log (id);
CREATE INDEX audit_log_patients_idx ON audit_log USING gin (patients);
CREATE INDEX audit_log_resources_idx ON audit_log USING gin (audit_log_unversioned(resources));
CREATE INDEX audit_log_agent_idx ON audit_log (agent);

-- Append-only: nothing changes or removes a record but retention, which drops whole partitions,
-- and the move of rows out of the default partition below (which sets schakel.audit_maintenance).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('schakel.audit_maintenance', true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The partition of the month holding `day` (UTC months), created when missing; rows the default
-- partition took for that month move into it first, since attaching checks the default is clear.
CREATE FUNCTION audit_log_partition(day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', day)::date;
  after date := (date_trunc('month', day) + interval '1 month')::date;
  name text := 'audit_log_p' || to_char(first, 'YYYYMM');
  low text := to_char(first, 'YYYY-MM-DD') || ' 00:00:00+00';
  high text := to_char(after, 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
  IF to_regclass(name) IS NOT NULL THEN
    RETURN name;
  END IF;
  PERFORM set_config('schakel.audit_maintenance', 'on', true);
  EXECUTE format('CREATE TABLE %I (LIKE audit_log INCLUDING DEFAULTS)', name);
  EXECUTE format(
    'WITH moved AS (DELETE FROM audit_log_default WHERE recorded >= %L AND recorded < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
    low, high, name);
  EXECUTE format('ALTER TABLE audit_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, low, high);
  PERFORM set_config('schakel.audit_maintenance', 'off', true);
  RETURN name;
END $$;

-- AuditEvents that older versions stored as resources (src/audit/audit-event.ts shape) become
-- rows, and their resource, history and index rows go: one place to read the log from.
CREATE FUNCTION audit_log_import_resources() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  moved integer;
BEGIN
  WITH old AS (
    SELECT id, content::jsonb AS e FROM resource
     WHERE resource_type = 'AuditEvent' AND NOT deleted AND content IS NOT NULL
       AND id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  ), parts AS (
    SELECT id, e,
      (SELECT a FROM jsonb_array_elements(e->'agent') a WHERE a->'type'->'coding'->0->>'code' = 'humanuser') AS usr,
      (SELECT a FROM jsonb_array_elements(e->'agent') a WHERE a->'type'->'coding'->0->>'code' = 'PROV') AS org,
      (SELECT a FROM jsonb_array_elements(e->'agent') a WHERE a->'type'->'coding'->0->>'code' = 'RESP') AS resp,
      (SELECT a FROM jsonb_array_elements(e->'agent') a WHERE a->'type'->'coding'->0->>'code' = '110150') AS client,
      (SELECT a FROM jsonb_array_elements(e->'agent') a WHERE (a->>'requestor')::boolean) AS requestor,
      (SELECT x FROM jsonb_array_elements(e->'entity') x WHERE x->'role'->>'code' = '24') AS q
    FROM old
  ), rows AS (
    SELECT id, e,
      client->'who'->'identifier'->>'value' AS client_id,
      usr->'who'->'identifier'->>'system' AS user_system, usr->'who'->'identifier'->>'value' AS user_value, usr->>'name' AS user_name,
      CASE WHEN usr->'role'->0->'coding'->0 ? 'system'
        THEN (usr->'role'->0->'coding'->0->>'system') || '|' || (usr->'role'->0->'coding'->0->>'code')
        ELSE usr->'role'->0->'coding'->0->>'code' END AS user_role,
      usr->'who'->>'reference' AS user_reference,
      org->'who'->'identifier'->>'system' AS organization_system, org->'who'->'identifier'->>'value' AS organization_value,
      org->'who'->>'reference' AS organization_reference,
      resp->'who'->'identifier'->>'system' AS responsible_system, resp->'who'->'identifier'->>'value' AS responsible_value,
      usr->'purposeOfUse'->0->>'text' AS btg_reason, requestor->'network'->>'address' AS address, q
    FROM parts
  ), keyed AS (
    SELECT *, audit_agent_id(client_id, user_system, user_value, user_name, user_role, user_reference, organization_system,
      organization_value, organization_reference, responsible_system, responsible_value) AS agent
    FROM rows
  ), agents AS (
    INSERT INTO audit_agent
    SELECT DISTINCT ON (agent) agent, client_id, user_system, user_value, user_name, user_role, user_reference, organization_system,
      organization_value, organization_reference, responsible_system, responsible_value
    FROM keyed ON CONFLICT (agent_id) DO NOTHING
  ), inserted AS (
    INSERT INTO audit_log
    SELECT id::uuid, (e->>'recorded')::timestamptz, NULL,
      CASE WHEN e->'type'->>'code' = '110114' THEN 'login' ELSE e->'subtype'->0->>'code' END,
      (SELECT s->>'code' FROM jsonb_array_elements(e->'subtype') s WHERE s->>'system' = 'http://hl7.org/fhir/OperationDefinition'),
      (e->>'action')::"char", (e->>'outcome')::smallint, e->>'outcomeDesc',
      agent, btg_reason, address,
      ARRAY(SELECT substr(x->'what'->>'reference', 9) FROM jsonb_array_elements(e->'entity') WITH ORDINALITY AS t(x, n)
             WHERE x->'role'->>'code' = '1' ORDER BY n),
      ARRAY(SELECT x->'what'->>'reference' FROM jsonb_array_elements(e->'entity') WITH ORDINALITY AS t(x, n)
             WHERE x->'role'->>'code' = '4' ORDER BY n),
      q->>'name',
      CASE WHEN q IS NULL THEN NULL ELSE convert_from(decode(q->>'query', 'base64'), 'UTF8') END
    FROM keyed
    RETURNING 1
  )
  SELECT count(*) INTO moved FROM inserted;
  PERFORM audit_log_partition(m) FROM (SELECT DISTINCT date_trunc('month', recorded)::date AS m FROM audit_log_default) AS months;
  DELETE FROM search_token WHERE resource_type = 'AuditEvent';
  DELETE FROM search_string WHERE resource_type = 'AuditEvent';
  DELETE FROM search_date WHERE resource_type = 'AuditEvent';
  DELETE FROM search_number WHERE resource_type = 'AuditEvent';
  DELETE FROM search_quantity WHERE resource_type = 'AuditEvent';
  DELETE FROM search_reference WHERE resource_type = 'AuditEvent';
  DELETE FROM search_uri WHERE resource_type = 'AuditEvent';
  DELETE FROM resource_history WHERE resource_type = 'AuditEvent';
  DELETE FROM resource WHERE resource_type = 'AuditEvent';
  RETURN moved;
END $$;

SELECT audit_log_import_resources();
SELECT audit_log_partition((now() AT TIME ZONE 'UTC')::date);
SELECT audit_log_partition((now() AT TIME ZONE 'UTC' + interval '1 month')::date);
