/**
 * Which database errors are connection faults (503 transient, Retry-After) and which stay errors
 * of the statement; and, on PostgreSQL, a connection killed in the middle of a transaction: the
 * process survives, the transaction runs again on a fresh connection and commits once.
 */
import pg from 'pg';
import t from 'tap';
import { toOutcome } from '../../src/http/errors.js';
import { DatabaseUnavailableError, isConnectionFault } from '../../src/storage/connection-faults.js';
import { engine } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';

/** An error as node-postgres reports one from the server: a DatabaseError with its SQLSTATE. */
function serverError(code: string, message = 'server error'): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: 'connect' });
}

t.test('connection faults are told apart from errors of the statement', async (t) => {
  const faults: Array<[string, unknown]> = [
    ['57P01 admin_shutdown', serverError('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', serverError('57P02')],
    ['57P03 cannot_connect_now', serverError('57P03', 'the database system is starting up')],
    ['08006 connection_failure', serverError('08006')],
    ['08001 unable to connect', serverError('08001')],
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
    ['ECONNRESET', socketError('ECONNRESET')],
    ['ECONNREFUSED on IPv4 and IPv6', new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')])],
    ['socket closed', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['broken client', new Error('Client has encountered a connection error and is not queryable')],
  ];
  for (const [name, error] of faults) {
    t.ok(isConnectionFault(error), `${name} is a connection fault`);
    const mapped = toOutcome(error);
    t.equal(mapped.status, 503, `${name}: 503`);
    t.equal(mapped.outcome.issue?.[0]?.code, 'transient', `${name}: issue code transient`);
    t.ok(mapped.retryAfter !== undefined && mapped.retryAfter > 0, `${name}: Retry-After`);
    t.equal(mapped.unexpected, false, `${name}: not logged as a bug`);
  }
  const statementErrors: Array<[string, unknown]> = [
    ['23505 unique_violation', serverError('23505')],
    ['40001 serialization_failure', serverError('40001')],
    ['42P01 undefined_table', serverError('42P01')],
    ['a plain bug', new TypeError('x is undefined')],
  ];
  for (const [name, error] of statementErrors) {
    t.notOk(isConnectionFault(error), `${name} is not a connection fault`);
    t.equal(toOutcome(error).status, 500, `${name}: still a 500 as before`);
  }
  // A statement past its statement_timeout (the search time limit, docs/configuration.md) is no
  // fault of the server's either: 503 too-costly, and not a connection fault.
  const cancelled = serverError('57014');
  t.notOk(isConnectionFault(cancelled), '57014 query_canceled is not a connection fault');
  t.equal(toOutcome(cancelled).status, 503, '57014 query_canceled: 503');
  t.equal(toOutcome(cancelled).outcome.issue?.[0]?.code, 'too-costly', '57014 query_canceled: too-costly');
  const unknownCommit = toOutcome(new DatabaseUnavailableError(new Error('Connection terminated unexpectedly'), 'unknown'));
  t.equal(unknownCommit.status, 503, 'a COMMIT whose answer was lost: 503 as well');
  t.equal(unknownCommit.outcome.issue?.[0]?.code, 'transient');
});

t.test('a database out of disk, memory or connections, or refusing writes, is 507/503 with Retry-After, never 500', async (t) => {
  const faults: Array<[string, unknown, number, string]> = [
    ['53100 disk_full', serverError('53100', 'could not extend file: No space left on device'), 507, 'no-store'],
    ['53200 out_of_memory', serverError('53200', 'out of memory'), 503, 'transient'],
    ['53300 too_many_connections', serverError('53300', 'too many connections for role'), 503, 'transient'],
    ['25006 read_only_sql_transaction', serverError('25006', 'cannot execute INSERT in a read-only transaction'), 503, 'no-store'],
    ['53100 wrapped by a caller', new Error('write failed', { cause: serverError('53100') }), 507, 'no-store'],
  ];
  for (const [name, error, status, code] of faults) {
    t.notOk(isConnectionFault(error), `${name} is not a lost connection`);
    const mapped = toOutcome(error);
    t.equal(mapped.status, status, `${name}: ${status}`);
    t.equal(mapped.outcome.issue?.[0]?.code, code, `${name}: issue code ${code}`);
    t.ok(mapped.retryAfter !== undefined && mapped.retryAfter > 0, `${name}: Retry-After`);
    t.equal(mapped.unexpected, false, `${name}: not logged as a bug`);
  }
});

t.test(`a connection killed inside a transaction on ${engine}`, { skip: engine === 'postgres' ? false : 'needs PostgreSQL (DATABASE_URL): PGlite has no connections to kill' }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.destroy());
  const { db } = database;
  await db.exec('CREATE TABLE fault_probe (n int PRIMARY KEY)');
  const url = process.env['DATABASE_URL'];
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.teardown(() => admin.end());

  let runs = 0;
  const result = await db.transaction(async (tx) => {
    runs += 1;
    await tx.query('INSERT INTO fault_probe (n) VALUES (1)');
    if (runs === 1) {
      // The server ends this backend (what `pg_ctl stop -m fast` does to every backend) while
      // the client is checked out between two statements: node-postgres emits 'error' on it.
      const [self] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [self?.pid]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await tx.query('INSERT INTO fault_probe (n) VALUES (2)');
    return runs;
  });
  t.equal(result, 2, 'the transaction ran again on a fresh connection (its first run never reached COMMIT)');
  const rows = await db.query<{ n: number }>('SELECT n FROM fault_probe ORDER BY n');
  t.same(
    rows.map((r) => r.n),
    [1, 2],
    'and committed exactly once'
  );

  // Twice in a row: one transparent retry only, then the caller gets the fault (503).
  let attempts = 0;
  const failing = db.transaction(async (tx) => {
    attempts += 1;
    const [self] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [self?.pid]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await tx.query('SELECT 1');
  });
  await t.rejects(failing, DatabaseUnavailableError, 'a second loss is reported, not retried forever');
  t.equal(attempts, 2, 'one retry');
  t.same(await db.query('SELECT 1 AS one'), [{ one: 1 }], 'the pool serves again afterwards');
});
