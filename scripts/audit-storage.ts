/**
 * Bytes of audit storage per read: writes N audit records shaped like a professional's reads
 * (half Patient, half Observation, over 500 patients; one INSERT each, as a read does) into a
 * scratch database and reports the growth of the audit log (partitions and audit_agent), indexes
 * included.
 *   npx tsx scripts/audit-storage.ts [N]           (PGlite; DATABASE_URL set: PostgreSQL)
 */
import { randomUUID } from 'node:crypto';
import { auditRecord } from '../src/audit/audit-record.js';
import { AuditTrail } from '../src/audit/audit-trail.js';
import { ScopeSet } from '../src/auth/scopes.js';
import type { Principal } from '../src/auth/principal.js';
import { createScratchDatabase } from '../test/helpers/database.js';

const count = Number(process.argv[2] ?? 10_000);
const database = await createScratchDatabase(process.env['DATABASE_URL'] ? 'postgres' : 'pglite');
const db = database.db;
const principal: Principal = {
  kind: 'user',
  clientId: 'gp',
  scopes: ScopeSet.parse('user/*.rs'),
  user: {
    identifier: { system: 'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers', value: '999990001' },
    role: '01.015',
    organization: { system: 'http://fhir.nl/fhir/NamingSystem/agb-z', value: '01099001' },
    name: 'T. Huisarts',
  },
  practitionerRef: 'Practitioner/t-gp-pract',
  organizationRef: 'Organization/t-gp',
};

async function auditBytes(): Promise<number> {
  const [row] = await db.query<{ bytes: string }>(
    `SELECT (coalesce(sum(pg_total_relation_size(relid)), 0) + pg_total_relation_size('audit_agent'))::text AS bytes
       FROM pg_partition_tree('audit_log') WHERE isleaf`
  );
  return Number(row?.bytes ?? 0);
}

const trail = new AuditTrail('https://schakel.example/fhir');
const before = await auditBytes();
for (let i = 0; i < count; i++) {
  const patient = `p-${String(i % 500).padStart(4, '0')}`;
  const type = i % 2 === 0 ? 'Patient' : 'Observation';
  const record = auditRecord({ event: 'read', action: 'R', principal, address: '10.20.30.40', requestId: randomUUID(), resourceType: type });
  record.status = 200;
  record.entities.push(type === 'Patient' ? `Patient/${patient}/_history/1` : `Observation/obs-${i}/_history/1`);
  record.patients.add(patient);
  await trail.write(db, [record]);
}
const after = await auditBytes();
console.log(JSON.stringify({ engine: db.engine, records: count, bytes: after - before, bytesPerRead: Math.round((after - before) / count) }));
await database.destroy();
