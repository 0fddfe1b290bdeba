import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { testAuthSetup } from '../helpers/auth.js';
import { buildApp } from '../../src/app.js';
import { ProfileError, ProfileRegistry } from '../../src/validation/profiles.js';
import { withUniqueBsn } from '../helpers/referral.js';
import { createTestApp, engine, injector, testConfig } from '../helpers/app.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';

const PROFILES_DIR = 'test/fixtures/profiles';
const TEST_PATIENT = 'https://schakel.test/fhir/StructureDefinition/test-patient';

const patient = {
  resourceType: 'Patient',
  meta: { profile: [TEST_PATIENT] },
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999900018' }],
  name: [{ family: 'Bakker', given: ['Piet'] }],
  birthDate: '1950-02-03',
};

t.test(`claimed profiles are validated on write on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { PROFILES_DIR });
  // A fresh BSN per create: at most one active Patient holds a BSN.
  const post = (body: unknown, headers: Record<string, string> = {}) => request({ method: 'POST', url: '/fhir/Patient', body: withUniqueBsn(body), headers });

  t.equal((await post(patient)).statusCode, 201, 'a conforming patient');
  const { birthDate: _b, ...noBirthDate } = patient;
  assertIssue(t, await post(noBirthDate), 422, 'structure', 'Patient.birthDate');
  const { identifier: _i, ...noIdentifier } = patient;
  assertIssue(t, await post(noIdentifier), 422, 'structure', 'Patient.identifier');
  assertIssue(t, await post({ ...patient, name: [{ given: ['Piet'] }] }), 422, 'invariant', 'Patient');
  t.equal((await post({ ...noBirthDate, meta: undefined })).statusCode, 201, 'without the claim the base rules apply');

  const collection = (entry: unknown) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e', resource: entry }] });
  assertIssue(t, await request({ method: 'POST', url: '/fhir/Bundle', body: collection(noBirthDate) }), 422, 'structure', 'Bundle.entry[0].resource.birthDate');
  t.equal((await request({ method: 'POST', url: '/fhir/Bundle', body: collection(patient) })).statusCode, 201, 'a conforming entry');

  const update = await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { ...noBirthDate, id: 'p1' } });
  assertIssue(t, update, 422, 'structure', 'Patient.birthDate');

  const unknown = await post({ ...patient, meta: { profile: ['https://elsewhere.example/StructureDefinition/other'] } }, { prefer: 'return=OperationOutcome' });
  t.equal(unknown.statusCode, 201, 'an unknown profile does not block the write');
  t.ok(
    issuesOf(unknown).some((i) => i.severity === 'warning' && i.code === 'not-supported' && i.expression?.includes('Patient.meta.profile[0]')),
    'but is reported as a warning'
  );
  const base = await post({ ...patient, meta: { profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] } }, { prefer: 'return=OperationOutcome' });
  t.equal(base.statusCode, 201);
  t.notOk(issuesOf(base).some((i) => i.severity === 'warning'), 'the base R4 profile is no unknown profile');
  assertIssue(
    t,
    await request({ method: 'POST', url: '/fhir/Observation', body: { resourceType: 'Observation', meta: { profile: [TEST_PATIENT] }, status: 'final', code: { text: 'x' } } }),
    422,
    'invalid',
    'Observation.meta.profile[0]'
  );
});

t.test(`profiles are listed, readable and read-only on ${engine}`, async (t) => {
  const { request, config, database } = await createTestApp(t, { PROFILES_DIR });
  const metadata = (await request({ method: 'GET', url: '/fhir/metadata' })).json<{
    rest: Array<{ resource: Array<{ type: string; supportedProfile?: string[] }> }>;
  }>();
  const entry = (type: string) => metadata.rest[0]?.resource.find((r) => r.type === type);
  t.same(entry('Patient')?.supportedProfile, [TEST_PATIENT]);
  t.notOk(entry('Observation')?.supportedProfile, 'no profile on Observation');

  const read = await request({ method: 'GET', url: '/fhir/StructureDefinition/test-patient' });
  t.equal(read.statusCode, 200);
  t.equal(read.json().url, TEST_PATIENT);
  t.equal(read.json().meta.versionId, '1');

  const changed = { ...read.json(), description: 'overwritten' };
  const overwrite = await request({ method: 'PUT', url: '/fhir/StructureDefinition/test-patient', body: changed });
  assertIssue(t, overwrite, 403, 'forbidden');
  const { id: _id, ...copy } = changed;
  assertIssue(t, await request({ method: 'POST', url: '/fhir/StructureDefinition', body: copy }), 403, 'forbidden');

  // A restart on the same database stores nothing new.
  const again = await buildApp({ config, db: database.db, closeDatabase: false, auth: await testAuthSetup() });
  t.teardown(() => again.close());
  const reread = await injector(again)({ method: 'GET', url: '/fhir/StructureDefinition/test-patient' });
  t.equal(reread.json().meta.versionId, '1', 'no new version on restart');
});

t.test('the registry is injectable and refuses malformed profiles', async (t) => {
  const { request } = await createTestApp(t);
  t.notOk((await request({ method: 'GET', url: '/fhir/metadata' })).json().rest[0].resource.find((r: { type: string }) => r.type === 'Patient').supportedProfile);

  const registry = ProfileRegistry.fromFolder(PROFILES_DIR);
  t.same(registry.supportedProfiles('Patient'), [TEST_PATIENT]);
  t.same(ProfileRegistry.fromFolder('/does/not/exist').all(), [], 'a missing folder is empty');

  const dir = mkdtempSync(join(tmpdir(), 'schakel-profiles-'));
  writeFileSync(join(dir, 'broken.json'), '{ not json');
  t.throws(() => ProfileRegistry.fromFolder(dir), ProfileError);
  const dir2 = mkdtempSync(join(tmpdir(), 'schakel-profiles-'));
  writeFileSync(join(dir2, 'no-snapshot.json'), JSON.stringify({ resourceType: 'StructureDefinition', id: 'x', url: 'https://schakel.test/x', kind: 'resource', type: 'Patient' }));
  t.throws(() => ProfileRegistry.fromFolder(dir2), ProfileError);
  t.throws(() => new ProfileRegistry([...registry.all(), ...registry.all()]), ProfileError, 'a URL defined twice');
});

t.test(`buildApp takes an injected registry on ${engine}`, async (t) => {
  const { config, database } = await createTestApp(t);
  const app = await buildApp({ config: testConfig(), db: database.db, closeDatabase: false, auth: await testAuthSetup(), profiles: ProfileRegistry.fromFolder(PROFILES_DIR) });
  t.teardown(() => app.close());
  t.equal(config.profilesDir.endsWith('profiles/'), true, 'the default folder is the repository profiles/');
  const metadata = (await injector(app)({ method: 'GET', url: '/fhir/metadata' })).json();
  t.same(metadata.rest[0].resource.find((r: { type: string }) => r.type === 'Patient').supportedProfile, [TEST_PATIENT]);
});
