-- Access that follows a referral's life (auth/read-grants.ts, operations/task-claim.ts).

-- Resource-level read grants: when a referral Task's owner leaves the patient's care (the Task is
-- completed, failed, rejected or cancelled), it keeps reading that referral, its Task and what it
-- wrote itself, and nothing else of the record. `actor` is a reference as care_relation has it
-- ('Organization/x', 'PractitionerRole/y', 'Practitioner/z'); source is the Task that gave it.
-- The narrowing filter (auth/access-scope.ts) admits a row of (resource_type, id) to an actor
-- with a grant for reads, searches and includes; never for writes.
CREATE TABLE read_grant (
  actor text NOT NULL,
  resource_type text NOT NULL,
  id text NOT NULL,
  source_type text NOT NULL,
  source_id text NOT NULL,
  PRIMARY KEY (resource_type, id, actor, source_type, source_id)
);
CREATE INDEX read_grant_actor_idx ON read_grant (actor);

-- Refused Task/$claim attempts per client, for the limit on guessing claim codes (5 per 15
-- minutes). Rows older than the window are removed by the next attempt of any client.
CREATE TABLE referral_claim_failure (
  client_id text NOT NULL,
  failed_at timestamptz NOT NULL
);
CREATE INDEX referral_claim_failure_client_idx ON referral_claim_failure (client_id, failed_at);
