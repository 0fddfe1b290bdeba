-- One active Patient per BSN (auth/patient-bsn.ts). A row per BSN of every current Patient, kept
-- in step in each write's transaction; the partial unique index makes a second active Patient
-- with the same BSN fail in the database itself, also when two writers race each other.
CREATE TABLE patient_bsn (
  patient_id text NOT NULL,
  bsn text NOT NULL,
  active boolean NOT NULL,
  PRIMARY KEY (patient_id, bsn)
);
CREATE UNIQUE INDEX patient_bsn_active_idx ON patient_bsn (bsn) WHERE active;

-- The Patients already stored. Where two active ones share a BSN, the oldest keeps it as active;
-- the others are listed as inactive here (their content is left alone) until an administrator
-- merges or deactivates them.
INSERT INTO patient_bsn (patient_id, bsn, active)
SELECT id, code, active AND row_number() OVER (PARTITION BY code, active ORDER BY sid) = 1
  FROM (
    SELECT DISTINCT r.sid, r.id, x.code, COALESCE(r.content::jsonb ->> 'active', 'true') <> 'false' AS active
      FROM search_token x JOIN resource r ON r.sid = x.sid
     WHERE x.resource_type = 'Patient' AND x.param = 'identifier' AND x.system = 'http://fhir.nl/fhir/NamingSystem/bsn'
       AND x.code IS NOT NULL AND NOT r.deleted
  ) AS existing;
