/**
 * PostgreSQL statements are prepared once per connection and then sent by name
 * (src/storage/postgres.ts): the server holds the statement after the first call, errors of one
 * call leave it usable, transactions and parameterless scripts work as before, and the number of
 * names is bounded.
 */
import t from 'tap';
import { openPostgres, StatementNames } from '../../src/storage/postgres.js';
import { engine } from '../helpers/app.js';

t.test('statement names are bounded and given only to statements with parameters', async (t) => {
  const names = new StatementNames(2);
  const a = names.nameOf('SELECT $1::int', [1]);
  t.ok(a);
  t.equal(names.nameOf('SELECT $1::int', [2]), a, 'one text, one name');
  const b = names.nameOf('SELECT $1::text', ['x']);
  t.ok(b);
  t.not(b, a);
  t.equal(names.nameOf('SELECT $1::date', ['2026-01-01']), undefined, 'beyond the bound a text runs unnamed');
  t.equal(names.nameOf('SELECT $1::int', [3]), a, 'known texts keep their name');
  t.equal(names.nameOf('BEGIN', undefined), undefined, 'no parameters, no name (scripts, BEGIN/COMMIT)');
});

t.test(`statements are prepared once per connection on ${engine}`, { skip: engine !== 'postgres' && 'PostgreSQL only' }, async (t) => {
  const db = await openPostgres(process.env['DATABASE_URL'] ?? '', { poolSize: 1, connectTimeoutMs: 5000 });
  t.teardown(() => db.close());
  const text = `SELECT $1::int + 1 AS n /* ${process.pid} */`;
  const prepared = async (): Promise<number> =>
    (await db.query<{ count: string }>('SELECT count(*) AS count FROM pg_prepared_statements WHERE statement = $1', [text]))[0]?.count === '1' ? 1 : 0;

  t.same(await db.query(text, [1]), [{ n: 2 }]);
  t.equal(await prepared(), 1, 'the connection holds the statement after its first call');
  t.same(await db.query(text, [41]), [{ n: 42 }], 'and runs it again by name');

  const division = 'SELECT 10 / $1::int AS q';
  await t.rejects(db.query(division, [0]), { code: '22012' }, 'an error of one call');
  t.same(await db.query(division, [5]), [{ q: 2 }], 'leaves the statement usable');
  await t.rejects(db.query('SELEC $1::int', [1]), { code: '42601' }, 'a statement that does not parse');
  t.same(await db.query(text, [2]), [{ n: 3 }], 'leaves the connection usable');

  await t.rejects(
    db.transaction(async (tx) => {
      t.same(await tx.query(text, [3]), [{ n: 4 }], 'inside a transaction');
      throw new Error('roll back');
    }),
    /roll back/
  );
  t.same(await db.query(text, [4]), [{ n: 5 }], 'a rollback keeps the prepared statement');
  t.equal(await prepared(), 1);
  await db.exec('SELECT 1; SELECT 2');
  t.pass('scripts of several statements run unnamed');
});
