// The care and outcome operations under care-relationship narrowing (docs/security.md): $logbook, $progress,
// $apply and a subject $evaluate-measure answer 404 outside the relationship, exactly like a read.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careScenario, careTeam, observation } from '../helpers/care-scenario.js';
import { put } from '../helpers/search.js';

type Who = 'gp' | 'physio' | 'admin';

t.test(`care operations are narrowed like reads on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  await put(app, {
    resourceType: 'CarePlan',
    id: 'cp-kok',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/p-kok' },
    period: { start: '2026-11-01', end: '2027-01-24' },
    careTeam: [{ reference: 'CareTeam/ct-kok' }],
  });
  await put(app, observation('obs-kok-plan', 'p-kok', { basedOn: [{ reference: 'CarePlan/cp-kok' }], performer: [{ reference: 'PractitionerRole/t-gp-role' }], effectiveDateTime: '2026-11-10T10:00:00+01:00' }));
  const get = (url: string, as: Who) => app.request({ method: 'GET', url: `/fhir/${url}`, as });

  for (const url of ['CarePlan/cp-kok/$logbook', 'Patient/p-kok/$logbook', 'CarePlan/cp-kok/$progress']) {
    const hidden = await get(url, 'physio');
    t.equal(hidden.statusCode, 404, `${url}: 404 outside the care relationship`);
    t.equal(hidden.json().issue[0].code, (await get(url.replace('kok', 'nobody'), 'physio')).json().issue[0].code, `${url} answers as for a missing resource`);
    t.equal((await get(url, 'gp')).statusCode, 200, `${url}: 200 for the GP in the care team`);
  }
  const logbook = (await get('CarePlan/cp-kok/$logbook', 'gp')).json();
  t.same(logbook.entry.map((e: any) => e.resource.id), ['obs-kok-plan'], 'the GP reads the plan\'s logbook');

  await put(app, careTeam('ct-kok', 'p-kok', ['gp', 'physio']));
  t.same((await get('CarePlan/cp-kok/$logbook', 'physio')).json().entry.map((e: any) => e.resource.id), ['obs-kok-plan'], 'joined the care team: the physio reads it too');
  await put(app, careTeam('ct-kok', 'p-kok', ['gp']));
  t.equal((await get('CarePlan/cp-kok/$logbook', 'physio')).statusCode, 404, 'left it: 404 again');

  const subjectReport = 'Measure/pain-pdi-change/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-12-31&subject=Patient/p-kok';
  t.equal((await get(subjectReport, 'physio')).statusCode, 404, 'a subject report of a hidden patient: 404');
  t.equal((await get(subjectReport, 'gp')).statusCode, 200, 'of a patient in care: 200');
  t.equal((await get('Measure/pain-pdi-change/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-12-31', 'physio')).statusCode, 200, 'population reports hold no patient data');

  const tasksBefore = (await get('Task?_summary=count', 'admin')).json().total;
  const apply = await app.request({ method: 'POST', url: '/fhir/PlanDefinition/ndp-1.0.0/$apply?subject=Patient/p-kok&carePlan=CarePlan/cp-kok', as: 'physio' });
  const missing = await app.request({ method: 'POST', url: '/fhir/PlanDefinition/ndp-1.0.0/$apply?subject=Patient/nobody&carePlan=CarePlan/nothing', as: 'physio' });
  t.same([apply.statusCode, apply.json().issue[0].code], [missing.statusCode, missing.json().issue[0].code], '$apply for a hidden patient answers as for a missing one');
  t.ok(apply.statusCode >= 400 && apply.statusCode < 500);
  t.equal((await get('Task?_summary=count', 'admin')).json().total, tasksBefore, 'and no Task was written');
  const applied = await app.request({ method: 'POST', url: '/fhir/PlanDefinition/ndp-1.0.0/$apply?subject=Patient/p-kok&carePlan=CarePlan/cp-kok', as: 'gp' });
  t.equal(applied.statusCode, 200, 'the GP schedules the measurements');
  t.ok((await get('Task?_summary=count', 'admin')).json().total > tasksBefore, 'Tasks were written');
  const audit = (await app.request({ method: 'GET', url: '/fhir/AuditEvent?subtype=operation&_sort=-date&_count=1', as: 'auditor' })).json();
  t.equal(audit.entry?.length, 1, 'the operation is audited');
});
