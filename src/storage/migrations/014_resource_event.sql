-- The change-event outbox (src/events/): one row per committed create, update, patch and delete,
-- written in the write's own transaction, read after commit by the event dispatcher.
--
-- seq must be gap-free and follow commit order, so that a consumer that has seen n knows it has
-- seen everything up to n. A sequence gives neither: a rolled-back transaction burns its numbers,
-- and a transaction that took its number first may commit last. The one-row counter below does
-- both: each write transaction takes its numbers with `UPDATE event_counter SET last = last + n`
-- as the very last statement before commit (src/events/resource-event-writer.ts). The row lock
-- queues concurrent writers only for that last moment; the next writer reads `last` only after
-- the previous one committed, and a rollback undoes its increment with it.
CREATE TABLE event_counter (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last bigint NOT NULL
);
INSERT INTO event_counter (singleton, last) VALUES (true, 0);

CREATE TABLE resource_event (
  seq bigint PRIMARY KEY,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  version_id integer NOT NULL,
  interaction text NOT NULL CHECK (interaction IN ('create', 'update', 'patch', 'delete')),
  -- The patients the resource belongs to (resource_patient, src/auth/patients-of.ts) at commit.
  patients text[] NOT NULL DEFAULT '{}',
  recorded timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- How far each consumer has handled the events: every event with seq <= position.
CREATE TABLE event_consumer (
  name text PRIMARY KEY,
  position bigint NOT NULL,
  updated timestamptz NOT NULL DEFAULT now()
);
