-- A patient's objection to sharing (auth/consent-denials.ts): one row per actor a deny provision
-- of an active patient-privacy Consent names, kept in step with the Consent in each write's
-- transaction, so that narrowing stays one SQL condition (auth/access-scope.ts).
-- actor: 'Organization/x' or 'Practitioner/y' (a PractitionerRole is stored as its practitioner),
-- or '*' for a provision that names nobody: everyone except the exempt actors (the organisation
-- that recorded the Consent, the actors of nested permit provisions) and the patient's own
-- managing organisation and general practitioner (care_relation rows with source_type 'Patient').
-- valid_from / valid_until: the provision's period, if given ([from, until)).
CREATE TABLE consent_denial (
  patient_id text NOT NULL,
  actor text NOT NULL,
  exempt text[] NOT NULL DEFAULT '{}',
  source_id text NOT NULL,
  valid_from timestamptz,
  valid_until timestamptz
);
CREATE INDEX consent_denial_patient_idx ON consent_denial (patient_id, actor);
CREATE INDEX consent_denial_source_idx ON consent_denial (source_id);
