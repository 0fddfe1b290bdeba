-- Current version of every resource, one row per (type, id); deleted resources keep a row
-- (deleted = true, content null) so reads can answer 410 Gone.
CREATE TABLE resource (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  content text,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX resource_type_updated_idx ON resource (resource_type, last_updated);

-- Every version ever written, including deletions. seq orders the whole history and makes
-- history paging stable while new versions arrive.
CREATE TABLE resource_history (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  method text NOT NULL,
  deleted boolean NOT NULL,
  content text,
  UNIQUE (resource_type, id, version_id)
);
CREATE INDEX resource_history_type_seq_idx ON resource_history (resource_type, seq);
CREATE INDEX resource_history_updated_idx ON resource_history (last_updated);

-- Local references of current resources (Type/id), for referential integrity on write and delete.
CREATE TABLE resource_reference (
  source_type text NOT NULL,
  source_id text NOT NULL,
  target_type text NOT NULL,
  target_id text NOT NULL,
  PRIMARY KEY (source_type, source_id, target_type, target_id)
);
CREATE INDEX resource_reference_target_idx ON resource_reference (target_type, target_id);
