-- The subscription engine (src/subscriptions/): server-side state of each Subscription that its
-- resource does not carry. Keyed by the Subscription's id; rows outlive nothing but the engine's
-- own bookkeeping, so they are never exposed as FHIR resources.

-- Who created the Subscription, so notifications tell only what that principal may read at the
-- time of each event (src/auth/access-scope.ts). No token is kept: only the identity the access
-- narrowing needs (client, granted scopes, the user's Organization and Practitioner).
CREATE TABLE subscription_owner (
  subscription_id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('user', 'system')),
  client_id text NOT NULL,
  scopes text NOT NULL,
  organization_ref text,
  practitioner_ref text,
  -- The acting user as the token named them (identifier, role, organisation), for the principal.
  acting_user jsonb
);

-- Delivery state: how many events matched since the start (events-since-subscription-start of
-- the Subscriptions Backport IG), how far delivery got, and the retry backoff.
CREATE TABLE subscription_delivery (
  subscription_id text PRIMARY KEY,
  -- The outbox event that created the Subscription: it is told only about later events.
  start_seq bigint NOT NULL,
  events_since_start bigint NOT NULL DEFAULT 0,
  delivered_through bigint NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  next_attempt timestamptz,
  -- A node delivering for this subscription holds it until then (one sender at a time).
  lease_until timestamptz
);

-- Each matched event with its per-subscription number, kept for $events (catch-up after a
-- receiver was down). (subscription_id, seq) is unique so that handling an outbox event twice
-- (delivery at least once) does not number it twice.
CREATE TABLE subscription_event (
  subscription_id text NOT NULL,
  event_number bigint NOT NULL,
  seq bigint NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  version_id integer NOT NULL,
  interaction text NOT NULL,
  recorded timestamptz NOT NULL,
  PRIMARY KEY (subscription_id, event_number),
  UNIQUE (subscription_id, seq)
);
