-- Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html; src/bulk-export/): jobs and
-- their NDJSON files live in the database, so that any node behind a load balancer can run a job,
-- answer its status and serve a file another node wrote.

-- One export. The requester's identity (not a token) is kept like subscription_owner
-- (016_subscription.sql) so that the job is narrowed to what they may see when it runs, and only
-- they may poll, cancel or download. A node running the job holds it until lease_until; a job
-- whose lease ran out (the node died) is taken up by another node and resumes after `after_sid`
-- of `at_type`, the last page whose part was committed.
CREATE TABLE export_job (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('user', 'system')),
  client_id text NOT NULL,
  scopes text NOT NULL,
  organization_ref text,
  practitioner_ref text,
  acting_user jsonb,
  -- The kick-off request: level, patients of a Group or Patient export, parameters as parsed.
  request_url text NOT NULL,
  level text NOT NULL CHECK (level IN ('system', 'patient', 'group')),
  group_id text,
  parameters jsonb NOT NULL,
  transaction_time timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('accepted', 'running', 'complete', 'failed')),
  at_type text,
  after_sid bigint NOT NULL DEFAULT 0,
  exported bigint NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until timestamptz,
  failure text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  -- After this the job and its files answer 404 and the cleanup deletes them (EXPORT_RETENTION_HOURS).
  expires_at timestamptz NOT NULL
);
CREATE INDEX export_job_runnable_idx ON export_job (created_at) WHERE status IN ('accepted', 'running');
CREATE INDEX export_job_expires_idx ON export_job (expires_at);

-- The parts of the files: one row per page of NDJSON lines (kind 'output': resources of one type;
-- 'error': OperationOutcomes). A file is its parts in seq order, streamed one part at a time.
CREATE TABLE export_file_part (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id text NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('output', 'error')),
  resource_type text NOT NULL,
  line_count integer NOT NULL,
  content text NOT NULL
);
CREATE INDEX export_file_part_file_idx ON export_file_part (job_id, kind, resource_type, seq);
