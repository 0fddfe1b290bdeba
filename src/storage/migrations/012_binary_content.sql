-- The bytes of Binary resources (https://hl7.org/fhir/R4/binary.html), one row per version, kept
-- out of the resource JSON: base64 inside a text column costs a third more space, and every read
-- of the JSON (search, index, history) would drag the whole document along. The resource and
-- resource_history rows hold the Binary without `data`; reads join the bytes of their version.
-- Rows are never updated or deleted: an old version keeps its bytes for vread and history.
CREATE TABLE binary_content (
  resource_id text NOT NULL,
  version_id integer NOT NULL,
  content bytea NOT NULL,
  PRIMARY KEY (resource_id, version_id)
);
