-- Notified pull (src/auth/pull-grants.ts): a notification Task gives its owner organisation read
-- access to exactly the resources in Task.input, from restriction.period.start until
-- restriction.period.end. Those grants are rows of read_grant (006_referral_life.sql) with the
-- source Task, bounded in time: `since` and `until` (null: unbounded on that side, as the grants
-- of a closed referral are). The narrowing (src/auth/access-scope.ts granted()) admits a grant
-- only while now() lies in [since, until).
ALTER TABLE read_grant ADD COLUMN since timestamptz;
ALTER TABLE read_grant ADD COLUMN until timestamptz;
CREATE INDEX read_grant_source_idx ON read_grant (source_type, source_id);
