/**
 * The time one search may take (SEARCH_STATEMENT_TIMEOUT_MS), so that a costly search cannot hold
 * a connection for minutes while others wait for it.
 *
 * On PostgreSQL the search runs in a transaction of its own with `statement_timeout` set locally
 * (https://www.postgresql.org/docs/current/runtime-config-client.html), so the server cancels a
 * statement that runs too long and the setting ends with the transaction. PGlite cannot cancel a
 * running statement (it has no timer signals in WASM); on both engines the search also stops
 * before its next statement once the time is up. Either way the client gets 503 with Retry-After
 * and issue type `too-costly`: the node cannot tell whether the search itself is too costly or the
 * node is busy, and 503 is the answer clients and load balancers already retry later or elsewhere.
 */
import { retryLater } from '../fhir/outcomes.js';
import type { Queryable, Row } from '../storage/database.js';
import type { FhirContext } from './context.js';

/** SQLSTATE query_canceled, what statement_timeout raises. */
const QUERY_CANCELED = '57014';

class SearchDeadlineError extends Error {
  override name = 'SearchDeadlineError';
}

function withDeadline(db: Queryable, deadline: number): Queryable {
  const check = (): void => {
    if (performance.now() > deadline) {
      throw new SearchDeadlineError('search time is up');
    }
  };
  return {
    async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      check();
      return db.query<R>(sql, params);
    },
    async exec(sql: string): Promise<void> {
      check();
      await db.exec(sql);
    },
  };
}

function timedOut(error: unknown): boolean {
  return error instanceof SearchDeadlineError || (typeof error === 'object' && error !== null && 'code' in error && error.code === QUERY_CANCELED);
}

/** Runs a search on a handle that enforces the search time limit; past it, 503 `too-costly`. */
export async function withinSearchBudget<T>(ctx: FhirContext, search: (db: Queryable) => Promise<T>): Promise<T> {
  const { searchStatementTimeoutMs: ms, retryAfterSeconds } = ctx.config.overload;
  if (ms === 0) {
    return search(ctx.repo.queryable);
  }
  const deadline = performance.now() + ms;
  try {
    // Inside a batch's transaction a local setting would outlive the search: the deadline suffices.
    if (ctx.config.databaseUrl !== undefined && !ctx.repo.inTransaction) {
      return await ctx.repo.transaction(async (repo) => {
        await repo.queryable.query("SELECT set_config('statement_timeout', $1, true)", [String(ms)]);
        return search(withDeadline(repo.queryable, deadline));
      });
    }
    return await search(withDeadline(ctx.repo.queryable, deadline));
  } catch (error) {
    if (timedOut(error)) {
      throw retryLater('too-costly', `The search took longer than the ${ms} ms this server allows; narrow it, or try again later`, retryAfterSeconds);
    }
    throw error;
  }
}
