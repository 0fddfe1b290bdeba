-- Search index (https://hl7.org/fhir/R4/search.html). One table per search parameter type; each row
-- is one value of one parameter of one current resource, written by search/indexer.ts in the same
-- transaction as the resource. Rows point at resource.sid, a compact surrogate key that survives
-- updates and orders results stably across pages.
--   param  the SearchParameter code, or a derived name: `code:text` (display texts for :text),
--          `identifier:of-type`, `subject:identifier` (Reference.identifier), `name#0` (component 0
--          of a composite, with grp numbering the item the components belong to).
--   grp    only for composite components; null otherwise.
-- A row whose value columns are all null records that the element exists without a searchable
-- value, so that :missing stays exact.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE resource ADD COLUMN sid bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX resource_sid_idx ON resource (sid);
-- Unfiltered and system-level searches page by sid over current resources of a type.
CREATE INDEX resource_type_sid_idx ON resource (resource_type, sid) WHERE NOT deleted;

CREATE TABLE search_token (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  system text,
  code text
);
CREATE INDEX search_token_code_idx ON search_token (resource_type, param, code, system);
CREATE INDEX search_token_sid_idx ON search_token (sid, param);

-- norm: lower case without diacritics (search/text.ts); C collation so that a prefix is a range.
CREATE TABLE search_string (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  norm text COLLATE "C",
  exact text
);
CREATE INDEX search_string_norm_idx ON search_string (resource_type, param, norm);
CREATE INDEX search_string_trgm_idx ON search_string USING gin (norm gin_trgm_ops);
CREATE INDEX search_string_sid_idx ON search_string (sid, param);

-- [start_at, end_at): the instant range a date, dateTime, Period or Timing event covers.
CREATE TABLE search_date (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  start_at timestamptz,
  end_at timestamptz
);
CREATE INDEX search_date_start_idx ON search_date (resource_type, param, start_at);
CREATE INDEX search_date_end_idx ON search_date (resource_type, param, end_at);
CREATE INDEX search_date_sid_idx ON search_date (sid, param);

-- Numbers and Ranges as [low, high] (equal for a single number).
CREATE TABLE search_number (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  low numeric,
  high numeric
);
CREATE INDEX search_number_low_idx ON search_number (resource_type, param, low);
CREATE INDEX search_number_sid_idx ON search_number (sid, param);

CREATE TABLE search_quantity (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  low numeric,
  high numeric,
  system text,
  code text,
  unit text
);
CREATE INDEX search_quantity_code_idx ON search_quantity (resource_type, param, code, low);
CREATE INDEX search_quantity_low_idx ON search_quantity (resource_type, param, low);
CREATE INDEX search_quantity_sid_idx ON search_quantity (sid, param);

-- Local references as (target_type, target_id[, target_version]); anything else (another server,
-- canonical URLs) as url, with a canonical's |version in target_version.
CREATE TABLE search_reference (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  target_type text,
  target_id text,
  target_version text,
  url text
);
CREATE INDEX search_reference_target_idx ON search_reference (resource_type, param, target_id, target_type);
CREATE INDEX search_reference_url_idx ON search_reference (resource_type, param, url) WHERE url IS NOT NULL;
CREATE INDEX search_reference_sid_idx ON search_reference (sid, param);

CREATE TABLE search_uri (
  sid bigint NOT NULL,
  resource_type text NOT NULL,
  param text NOT NULL,
  grp smallint,
  uri text COLLATE "C"
);
CREATE INDEX search_uri_uri_idx ON search_uri (resource_type, param, uri);
CREATE INDEX search_uri_sid_idx ON search_uri (sid, param);
