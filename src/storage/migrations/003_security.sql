-- Security (issue 7). Three tables that the access rules read inside every query, kept in step
-- with the resources by auth/care-relations.ts in each write's transaction.

-- The patients each resource belongs to: the Patient it is (for a Patient), the patients it
-- references, or, when it references none, the patients of the resources it references (a
-- Provenance inherits its target's patient). Rows outlive a delete, so the history of a deleted
-- resource stays as narrow as the resource was.
CREATE TABLE resource_patient (
  resource_type text NOT NULL,
  id text NOT NULL,
  patient_id text NOT NULL,
  PRIMARY KEY (resource_type, id, patient_id)
);

-- Care relationships (DOMAIN.md "need to know"): patient_id is related to actor ('Organization/x',
-- 'PractitionerRole/y', 'Practitioner/z') through source (a Patient's managing organisation or
-- general practitioner, an active CareTeam participant, the requester or performer/owner of an
-- active ServiceRequest or open Task) until `until` (a participant's period end), if set.
CREATE TABLE care_relation (
  patient_id text NOT NULL,
  actor text NOT NULL,
  source_type text NOT NULL,
  source_id text NOT NULL,
  until timestamptz
);
CREATE INDEX care_relation_patient_idx ON care_relation (patient_id, actor);
CREATE INDEX care_relation_actor_idx ON care_relation (actor, patient_id);
CREATE INDEX care_relation_source_idx ON care_relation (source_type, source_id);

-- Client assertion and user assertion ids seen by /auth/token, kept until they expire, so that an
-- assertion is never accepted twice, by any instance (SMART Backend Services: jti).
CREATE TABLE auth_jti (
  jti text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX auth_jti_expires_idx ON auth_jti (expires_at);
