/**
 * Reads on a real streaming replica (DATABASE_READ_URL): a primary and a `pg_basebackup -R` copy
 * started for this file alone, whatever engine the rest of the suite runs on.
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { ScopeSet } from '../../src/auth/scopes.js';
import { openDatabase } from '../../src/storage/open.js';
import { testConfig, injector } from '../helpers/app.js';
import { testAuthSetup, tokenFor } from '../helpers/auth.js';
import { postgresBinaries, startReplicatedCluster } from '../helpers/replica.js';

const bin = postgresBinaries();

if (bin === undefined) {
  t.plan(0, 'no PostgreSQL server binaries with pg_basebackup under /usr/lib/postgresql: cannot start a primary and a replica');
} else if (process.env['DATABASE_URL'] === undefined) {
  // It starts its own servers whatever the suite's engine: once, in the PostgreSQL pass, is enough.
  t.plan(0, 'read replicas exist only on PostgreSQL: this file runs in the PostgreSQL pass');
} else {
  const cluster = await startReplicatedCluster(bin);
  const config = testConfig({
    DATABASE_URL: cluster.primaryUrl,
    DATABASE_READ_URL: cluster.replicaUrl,
    READ_YOUR_WRITES_WAIT_MS: '100',
  });
  const db = await openDatabase(config);
  const app = await buildApp({ config, db, auth: await testAuthSetup() });
  t.teardown(async () => {
    await app.close();
    await cluster.stop();
  });
  const request = injector(app);
  // A second system client with the same rights as admin: it has written nothing.
  const otherToken = await tokenFor(app, { kind: 'system', clientId: 'replica-reader', scopes: ScopeSet.parse('system/*.cruds') });
  const asOther = { authorization: `Bearer ${otherToken}` };
  const unique = (): string => `Replica${Math.random().toString(36).slice(2, 10)}`;

  const total = async (family: string, headers?: Record<string, string>): Promise<number | undefined> => {
    const response = await request({ method: 'GET', url: `/fhir/Patient?family=${family}`, ...(headers ? { headers } : {}) });
    t.equal(response.statusCode, 200, `search for ${family} answers 200`);
    return response.json<{ total?: number }>().total;
  };
  const eventually = async (check: () => Promise<boolean>): Promise<boolean> => {
    for (let i = 0; i < 100; i++) {
      if (await check()) {
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };

  await t.test('/readyz reports the replica', async (t) => {
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200);
    t.match(ready.json(), { status: 'ready', replica: { state: 'available' } });
  });

  await t.test('with replay paused, another client reads the replica while the writer reads its own write', async (t) => {
    const family = unique();
    await cluster.onReplica('SELECT pg_wal_replay_pause()');
    let resumed = false;
    t.teardown(async () => {
      if (!resumed) {
        await cluster.onReplica('SELECT pg_wal_replay_resume()');
      }
    });
    const created = await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family }] } });
    t.equal(created.statusCode, 201);
    const id = created.json<{ id: string }>().id;

    t.equal(await total(family, asOther), 0, 'the other client searches the replica, which has not replayed the create');
    const otherRead = await request({ method: 'GET', url: `/fhir/Patient/${id}`, headers: asOther });
    t.equal(otherRead.statusCode, 404, 'nor can it read the new resource there');

    t.equal(await total(family), 1, 'the writer finds its own write at once (on the primary)');
    const ownRead = await request({ method: 'GET', url: `/fhir/Patient/${id}` });
    t.equal(ownRead.statusCode, 200, 'and reads it');
    t.equal(ownRead.json<{ id: string }>().id, id);

    // A write in a batch counts as the client's write for the batch's later read entries.
    const batchFamily = unique();
    const batch = await request({
      method: 'POST',
      url: '/fhir',
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', name: [{ family: batchFamily }] } },
          { request: { method: 'GET', url: `Patient?family=${batchFamily}` } },
        ],
      },
    });
    t.equal(batch.statusCode, 200);
    const batchEntries = batch.json<{ entry: Array<{ response: { status: string }; resource?: { total?: number } }> }>().entry;
    t.match(batchEntries[0]?.response.status, /^201/);
    t.equal(batchEntries[1]?.resource?.total, 1, 'the batch reads its own create');
    t.equal(await total(batchFamily, asOther), 0, 'which the other client does not see yet');

    // So does a transaction Bundle, once committed.
    const txFamily = unique();
    const transaction = await request({
      method: 'POST',
      url: '/fhir',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ fullUrl: 'urn:uuid:4f1c2b9e-2d7a-4c55-9a61-0c1e5b7d3a10', request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', name: [{ family: txFamily }] } }],
      },
    });
    t.equal(transaction.statusCode, 200);
    t.equal(await total(txFamily), 1, 'the writer finds what its transaction created');
    t.equal(await total(txFamily, asOther), 0, 'the other client not yet');

    await cluster.onReplica('SELECT pg_wal_replay_resume()');
    resumed = true;
    t.ok(await eventually(async () => (await total(family, asOther)) === 1), 'after resume the other client sees it too');
    const later = await request({ method: 'GET', url: `/fhir/Patient/${id}`, headers: asOther });
    t.equal(later.statusCode, 200);

    // The replica cannot take a write: the audit records of the reads it served are on the primary.
    const events = await request({ method: 'GET', url: `/fhir/AuditEvent?entity=Patient/${id}&_count=100`, as: 'auditor' });
    t.equal(events.statusCode, 200);
    const entries = events.json<{ entry?: unknown[] }>().entry ?? [];
    t.ok(entries.length >= 3, 'the reads of the new patient are in the audit log');
    t.ok(JSON.stringify(entries).includes('replica-reader'), 'those of the client the replica served among them');
  });

  await t.test('a replica further behind than DATABASE_READ_MAX_LAG_SECONDS leaves reads to the primary', async (t) => {
    const lagConfig = testConfig({
      DATABASE_URL: cluster.primaryUrl,
      DATABASE_READ_URL: cluster.replicaUrl,
      DATABASE_READ_MAX_LAG_SECONDS: '1',
    });
    const lagApp = await buildApp({ config: lagConfig, db: await openDatabase(lagConfig), auth: await testAuthSetup() });
    t.teardown(() => lagApp.close());
    const lagRequest = injector(lagApp);
    const reader = { authorization: `Bearer ${await tokenFor(lagApp, { kind: 'system', clientId: 'replica-reader', scopes: ScopeSet.parse('system/*.cruds') })}` };
    const family = unique();
    await cluster.onReplica('SELECT pg_wal_replay_pause()');
    t.teardown(() => cluster.onReplica('SELECT pg_wal_replay_resume()'));
    const created = await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family }] } });
    t.equal(created.statusCode, 201);

    // The replay stays paused: only reading the primary can find the new patient.
    const found = await eventually(async () => {
      const response = await lagRequest({ method: 'GET', url: `/fhir/Patient?family=${family}`, headers: reader });
      return response.statusCode === 200 && response.json<{ total?: number }>().total === 1;
    });
    t.ok(found, 'once the replica is more than a second behind, a client that wrote nothing reads the primary');
    const ready = await lagApp.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200, 'the node stays ready');
    t.match(ready.json(), { status: 'ready', replica: { state: 'lagging' } });
  });

  await t.test('a replica that is stopped leaves reads to the primary', async (t) => {
    const family = unique();
    const created = await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family }] } });
    t.equal(created.statusCode, 201);
    const id = created.json<{ id: string }>().id;
    t.ok(await eventually(async () => (await total(family, asOther)) === 1), 'replicated first');

    await cluster.stopReplica();
    t.equal(await total(family, asOther), 1, 'a search still answers 200 with the data');
    const read = await request({ method: 'GET', url: `/fhir/Patient/${id}`, headers: asOther });
    t.equal(read.statusCode, 200, 'a read too');
    const history = await request({ method: 'GET', url: `/fhir/Patient/${id}/_history`, headers: asOther });
    t.equal(history.statusCode, 200, 'and history');

    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200, 'the node stays ready: the primary is fine');
    t.match(ready.json(), { status: 'ready', replica: { state: 'unavailable' } });
  });

  await t.test('a replica that is down at start delays nothing', async (t) => {
    // The replica is still stopped from the subtest before.
    const downConfig = testConfig({ DATABASE_URL: cluster.primaryUrl, DATABASE_READ_URL: cluster.replicaUrl });
    const downApp = await buildApp({ config: downConfig, db: await openDatabase(downConfig), auth: await testAuthSetup() });
    t.teardown(() => downApp.close());
    const downRequest = injector(downApp);
    const family = unique();
    const created = await downRequest({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family }] } });
    t.equal(created.statusCode, 201);
    const reader = { authorization: `Bearer ${await tokenFor(downApp, { kind: 'system', clientId: 'replica-reader', scopes: ScopeSet.parse('system/*.cruds') })}` };
    const search = await downRequest({ method: 'GET', url: `/fhir/Patient?family=${family}`, headers: reader });
    t.equal(search.statusCode, 200);
    t.equal(search.json<{ total?: number }>().total, 1, 'reads run on the primary');
    const ready = await downApp.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200);
    t.match(ready.json(), { status: 'ready', replica: { state: 'unavailable' } });
  });
}
