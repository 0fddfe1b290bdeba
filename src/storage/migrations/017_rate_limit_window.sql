-- The rate limit shared by every node on one PostgreSQL database (src/http/rate-limit-store.ts):
-- one row per rate-limit key (a client system, or an address before authentication) and fixed
-- window, counted with one UPSERT per request. Windows that have ended are deleted by the next
-- node that starts a new one.
--
-- UNLOGGED: a count of the current minute is worth nothing after a crash, and skipping the WAL
-- keeps the per-request UPSERT cheap. The table is therefore empty after a crash restore and
-- absent on streaming replicas, neither of which needs it.
CREATE UNLOGGED TABLE rate_limit_window (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
