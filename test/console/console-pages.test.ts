/**
 * The professionals' console (console/) in a real headless Chromium against the real server
 * process: static serving with its CSP and cache headers, the bundle's size, and every page drawn
 * from the FHIR API with a demo professional's token (obtained through SMART Backend Services and
 * handed to the page through the in-memory session slot by the test entry,
 * console/testing/test-entry.ts). axe-core checks each page for serious and critical WCAG 2.1 AA
 * violations; each page's screenshot is written to the folder the test output names.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console.js';
import { chromiumAvailable, consolePage, demoToken, launchChromium, openConsolePage, seriousViolations, type HandedSession } from '../helpers/console-browser.js';
import { fhirApi, loadConsoleWorld, referralToPhysio } from '../helpers/console-world.js';
import { adminToken, freePort, ROOT, ServerProcess, serverDatabase } from '../helpers/server-process.js';

const GP: Omit<HandedSession, 'accessToken'> = { fhirUser: 'Practitioner/huisarts-de-boer', userName: 'dr. S. de Boer' };
const PHYSIO: Omit<HandedSession, 'accessToken'> = { fhirUser: 'Practitioner/fysiotherapeut-visser', userName: 'T. Visser' };

if (!chromiumAvailable()) {
  t.comment('skipped: no Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
} else {
  t.test('the console', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'schakel-console-'));
    // A fixed folder, so the screenshots of the latest run are easy to find.
    const screenshots = join(tmpdir(), 'schakel-console-screenshots');
    rmSync(screenshots, { recursive: true, force: true });
    mkdirSync(screenshots);
    const production = await buildConsole();
    const testBuild = await buildConsole(join(ROOT, 'console', 'testing', 'test-entry.ts'), join(work, 'test-build'));
    const testScript = readFileSync(join(testBuild.outDir, 'assets', testBuild.script), 'utf8');
    const database = await serverDatabase(join(work, 'data'));
    const server = new ServerProcess(await freePort(), { ...database.env, SEED_FIXTURES: 'false' });
    const browser = await launchChromium();
    t.teardown(async () => {
      await browser.close();
      await server.stop();
      await database.destroy();
      rmSync(work, { recursive: true, force: true });
    });
    t.ok(await server.listening(180_000), 'the server starts');
    const base = server.base;
    const api = fhirApi(base);
    await loadConsoleWorld(t, api, () => adminToken(base, database.dataDir));
    const admin = await adminToken(base, database.dataDir);
    const gp: HandedSession = { ...GP, accessToken: await demoToken(base, database.dataDir, 'gp') };
    const physio: HandedSession = { ...PHYSIO, accessToken: await demoToken(base, database.dataDir, 'physio') };
    t.comment(`screenshots in ${screenshots}`);

    const check = async (t: Test, page: Page, errors: string[], name: string): Promise<void> => {
      await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
      const violations = await seriousViolations(page);
      t.same(violations, [], `${name}: no serious or critical accessibility violations`);
      t.same(errors, [], `${name}: no errors in the browser (a CSP violation would be one)`);
    };

    t.test('static files: CSP, cache headers, size', async (t) => {
      const redirect = await fetch(`${base}/app`, { redirect: 'manual' });
      t.equal(redirect.status, 301);
      t.equal(redirect.headers.get('location'), '/app/');
      const index = await fetch(`${base}/app/`);
      t.equal(index.status, 200);
      t.equal(index.headers.get('cache-control'), 'no-cache', 'index.html is revalidated on every load');
      const csp = index.headers.get('content-security-policy') ?? '';
      t.match(csp, /script-src 'self'(;|$)/);
      t.match(csp, /style-src 'self'(;|$)/);
      t.match(csp, /default-src 'none'/);
      t.notMatch(csp, /unsafe-inline|unsafe-eval/);
      const html = await index.text();
      t.match(html, /<meta name="fhir-base" content="\/fhir">/);
      t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
      t.notMatch(html, /<style|style=/, 'no inline style');
      const asset = await fetch(`${base}/app/assets/${production.script}`);
      t.equal(asset.status, 200);
      t.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable', 'hashed assets are cached for a year');
      t.match(asset.headers.get('content-type') ?? '', /javascript/);
      t.notMatch(await asset.text(), /schakelTestSession/, 'the production bundle takes no token from outside the SMART flow');
      t.ok(production.compressedBytes < 300 * 1024, `bundle ${production.compressedBytes} bytes compressed, under 300 KB`);
      const missing = await fetch(`${base}/app/assets/main-NOTTHERE.js`);
      t.equal(missing.status, 404);
      const api = await fetch(`${base}/fhir/metadata`);
      t.match(api.headers.get('content-security-policy') ?? '', /default-src 'none'/, 'the API keeps its own policy');
    });

    t.test("the GP's pages", async (t) => {
      const { page, errors } = await consolePage(browser, testScript, gp);
      const timings: Record<string, number> = {};
      const timed = async (p: Page, hash: string): Promise<void> => {
        const started = Date.now();
        await openConsolePage(p, base, hash);
        timings[hash] = Date.now() - started;
      };
      await timed(page, '#/verwijzingen');
      const outgoing = page.locator('table:has(caption:has-text("Uitgaande")) tbody tr[data-referral]');
      t.same((await outgoing.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-referral')))).sort(), ['verwijzing-fysio-jansen', 'verwijzing-revalidatie-el-amrani']);
      t.match(await page.locator('tr[data-referral="verwijzing-fysio-jansen"]').innerText(), /Afgerond[\s\S]*Terugkoppeling/);
      await check(t, page, errors, 'verwijzingen');
      await page.keyboard.press('Tab');
      t.equal(await page.evaluate('document.activeElement?.className'), 'skip', 'the first Tab reaches the skip link');
      await page.keyboard.press('Enter');
      t.equal(await page.evaluate('document.activeElement?.id'), 'inhoud', 'which moves the focus past the navigation to the page');
      t.match(page.url(), /#\/verwijzingen$/, 'without leaving the page');

      await timed(page, '#/patient/patient-de-graaf');
      t.match(await page.locator('main').innerText(), /Zorgteam[\s\S]*T\. Visser[\s\S]*M\. Bakker/);
      await check(t, page, errors, 'patient');

      await timed(page, '#/logboek/zorgbrug-de-graaf');
      const disciplines = await page.locator('table.logbook tbody tr td:nth-child(3)').allInnerTexts();
      t.ok(disciplines.includes('Fysiotherapeut') && disciplines.includes('Verpleegkundige'), 'entries of both disciplines');
      t.ok((await page.locator('#bloeddruk-grafiek canvas').count()) > 0, 'blood pressure as a chart');
      t.match(await page.locator('main').innerText(), /\d{2,3}\/\d{2,3} mmHg/, 'and as values');
      await check(t, page, errors, 'logboek');
      await page.selectOption('#discipline', '04.000');
      await page.click('#logboek-filter button[type=submit]');
      await page.waitForSelector('#app[data-ready="logboek"]');
      const filtered = await page.locator('table.logbook tbody tr td:nth-child(3)').allInnerTexts();
      t.ok(filtered.length > 0 && filtered.every((d) => d === 'Fysiotherapeut'), 'filtered by discipline');

      await timed(page, '#/zorgbrug/zorgbrug-de-graaf');
      const bars = await page.locator('progress').evaluateAll((all) => all.map((p) => ({ id: p.id, value: (p as unknown as { value: number }).value, max: (p as unknown as { max: number }).max })));
      t.ok(bars.some((b) => b.value === 6 && b.max === 9), '6 of 9 physiotherapy sessions');
      t.ok(bars.some((b) => b.value === 3 && b.max === 5), '3 of 4 (+1) home visits');
      t.ok(bars.some((b) => b.id === 'weken' && b.max === 84), 'the 12 weeks');
      await check(t, page, errors, 'zorgbrug');

      await timed(page, '#/uitkomsten/patient-el-amrani');
      t.ok((await page.locator('#uitkomsten-grafiek canvas').count()) > 0, 'PDI and NRS as a chart');
      const text = await page.locator('main').innerText();
      t.match(text, /PDI/);
      t.match(text, /Intake \(T0\)[\s\S]*klaar/, 'the T0 moment done');
      await check(t, page, errors, 'uitkomsten');

      await timed(page, '#/brief/verwijzing-fysio-jansen');
      t.match(await page.locator('article.letter').innerText(), /Terugkoppeling[\s\S]*Behandeling afgerond na 3 sessies/);
      await page.emulateMedia({ media: 'print' });
      t.equal(await page.locator('nav').isVisible(), false, 'the letter prints without the navigation');
      await page.emulateMedia({ media: 'screen' });
      await check(t, page, errors, 'brief');
      await page.context().close();
      // Each page's time from navigation to drawn data, written beside the screenshots; asserted
      // loosely, since the test machine is shared.
      writeFileSync(join(screenshots, 'timings.json'), JSON.stringify(timings, undefined, 2));
      t.ok(Object.values(timings).every((ms) => ms < 5000), `every page drawn within 5 s: ${JSON.stringify(timings)}`);
    });

    t.test('feedback overdue is highlighted; a referral rejected with a reason', async (t) => {
      t.equal((await api('', gp.accessToken, { method: 'POST', body: referralToPhysio('laat', 'Heupklachten') })).status, 200);
      t.equal((await api('', gp.accessToken, { method: 'POST', body: referralToPhysio('afwijzen', 'Enkelklachten') })).status, 200);
      // What the reminder pass writes on a Task accepted more than REFERRAL_FEEDBACK_DUE_DAYS ago (src/domain/reminders/).
      const late = await api('Task/taak-laat', admin);
      const marked = {
        ...late.body, status: 'accepted', owner: { reference: 'PractitionerRole/fysiotherapeut-visser-het-anker' },
        businessStatus: { coding: [{ system: 'http://schakel.nl/fhir/CodeSystem/task-business-status', code: 'feedback-overdue' }], text: 'Terugkoppeling te laat' },
      };
      t.equal((await api('Task/taak-laat', admin, { method: 'PUT', body: { ...marked, status: 'received' } })).status, 200);
      t.equal((await api('Task/taak-laat', admin, { method: 'PUT', body: marked })).status, 200);
      const gpView = await consolePage(browser, testScript, gp);
      await openConsolePage(gpView.page, base, '#/verwijzingen');
      const lateRow = gpView.page.locator('tr[data-referral="verwijzing-laat"]');
      t.equal(await lateRow.getAttribute('class'), 'overdue', 'the late referral is highlighted');
      t.match(await lateRow.innerText(), /Terugkoppeling te laat/);
      await check(t, gpView.page, gpView.errors, 'verwijzingen-te-laat');
      await gpView.page.context().close();

      const { page, errors } = await consolePage(browser, testScript, physio);
      await openConsolePage(page, base, '#/verwijzingen');
      const row = page.locator('tr[data-referral="verwijzing-afwijzen"]');
      await row.locator('summary', { hasText: 'Afwijzen' }).click();
      await row.getByLabel('Reden van afwijzing').fill('Geen plek binnen 4 weken');
      await row.getByRole('button', { name: 'Afwijzing versturen' }).click();
      await page.waitForSelector('#app[data-ready="verwijzingen"] tr[data-referral="verwijzing-afwijzen"]:has-text("Afgewezen")');
      t.match(await row.innerText(), /Geen plek binnen 4 weken/, 'the reason shows with the referral');
      const task = await api('Task/taak-afwijzen', admin);
      t.equal(task.body['status'], 'rejected', 'the Task is rejected in the database');
      t.same(task.body['statusReason'], { text: 'Geen plek binnen 4 weken' }, 'with the reason');
      t.equal((await api('ServiceRequest/verwijzing-afwijzen', admin)).body['status'], 'revoked');
      t.same(errors, []);
      await page.context().close();
    });

    t.test('the physiotherapist accepts and completes a referral; the GP sees the feedback', async (t) => {
      const referral = referralToPhysio('console', 'Schouderklachten, 4 weken');
      t.equal((await api('', gp.accessToken, { method: 'POST', body: referral })).status, 200, 'the GP refers through the API');

      const { page, errors } = await consolePage(browser, testScript, physio);
      await openConsolePage(page, base, '#/verwijzingen');
      const row = page.locator('tr[data-referral="verwijzing-console"]');
      t.match(await row.innerText(), /Verstuurd/);
      await row.getByRole('button', { name: 'Accepteren' }).click();
      await page.waitForSelector('#app[data-ready="verwijzingen"] tr[data-referral="verwijzing-console"]:has-text("Geaccepteerd")', { timeout: 20_000 }).catch(async (error: unknown) => {
        t.fail(`not accepted: ${await page.locator('#referral-error').innerText()}`);
        throw error;
      });
      await check(t, page, errors, 'verwijzingen-fysiotherapeut');
      await row.locator('summary').click();
      await row.getByLabel('Terugkoppeling aan de verwijzer').fill('Na 4 behandelingen klachtenvrij; oefeningen thuis voortzetten.');
      await row.getByRole('button', { name: 'Afronden en versturen' }).click();
      await page.waitForSelector('#app[data-ready="verwijzingen"] tr[data-referral="verwijzing-console"]:has-text("Afgerond")');
      t.same(errors, []);
      await page.context().close();

      const task = await api('Task/taak-console', admin);
      t.equal(task.body['status'], 'completed', 'the Task is completed in the database');
      const output = (task.body['output'] as Array<{ valueReference?: { reference?: string } }>)[0]?.valueReference?.reference ?? '';
      const feedback = await api(output, admin);
      t.equal(feedback.body['resourceType'], 'Communication');
      t.same(feedback.body['recipient'], [{ reference: 'PractitionerRole/huisarts-de-boer-de-linde' }], 'addressed to the referrer');
      t.equal((await api('ServiceRequest/verwijzing-console', admin)).body['status'], 'completed', 'and the referral with it');

      const gpView = await consolePage(browser, testScript, gp);
      await openConsolePage(gpView.page, base, '#/verwijzingen');
      t.match(await gpView.page.locator('tr[data-referral="verwijzing-console"]').innerText(), /Afgerond[\s\S]*Terugkoppeling/, "the feedback arrives in the GP's inbox");
      await openConsolePage(gpView.page, base, '#/brief/verwijzing-console');
      t.match(await gpView.page.locator('article.letter').innerText(), /Na 4 behandelingen klachtenvrij/);
      t.same(gpView.errors, []);
      await gpView.page.context().close();
    });
  });
}
