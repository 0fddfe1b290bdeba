/**
 * The console launched as a SMART app end to end, in headless Chromium against the real server
 * process: standalone launch through /auth/authorize and the development login page (PKCE S256,
 * state, code exchanged at /auth/token), tokens kept out of web storage, the refresh token used
 * before the access token expires, a tampered `state` refused, and an EHR launch that opens on the
 * EHR's patient. Then the care flow: the GP sees the inbox, the patient, the logbook of both
 * disciplines, the care-bridge progress and the PDI chart; the physiotherapist accepts and
 * completes a referral with feedback, which arrives in the GP's inbox.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console.js';
import { chromiumAvailable, launchChromium, openConsolePage, serveAxe, seriousViolations } from '../helpers/console-browser.js';
import { fhirApi, loadConsoleWorld, referralToPhysio } from '../helpers/console-world.js';
import { adminToken, freePort, ServerProcess, serverDatabase } from '../helpers/server-process.js';

interface SignedIn {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly errors: string[];
  /** The grant types of the console's requests to the token endpoint, with their status. */
  readonly tokenRequests: Array<{ grant: string; status: number }>;
}

if (!chromiumAvailable()) {
  t.comment('skipped: no Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
} else {
  t.test('the console as a SMART app', async (t) => {
    await buildConsole();
    const work = mkdtempSync(join(tmpdir(), 'schakel-console-launch-'));
    const screenshots = join(tmpdir(), 'schakel-console-launch-screenshots');
    rmSync(screenshots, { recursive: true, force: true });
    mkdirSync(screenshots);
    const database = await serverDatabase(join(work, 'data'));
    const port = await freePort();
    // The console's redirect URI is <PUBLIC_BASE_URL>/app/; a short token life shows the refresh.
    const server = new ServerProcess(port, { ...database.env, SEED_FIXTURES: 'false', PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, AUTH_TOKEN_LIFETIME: '90' });
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
    const admin = () => adminToken(base, database.dataDir);
    await loadConsoleWorld(t, api, admin);
    t.comment(`screenshots in ${screenshots}`);

    const open = async (url: string): Promise<SignedIn> => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await serveAxe(page);
      const errors: string[] = [];
      const tokenRequests: SignedIn['tokenRequests'] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        // The login pages are the authorization server's, not the console's.
        if (message.type() === 'error' && page.url().includes('/app/')) {
          errors.push(message.text());
        }
      });
      page.on('response', (response) => {
        if (response.url() === `${base}/auth/token`) {
          tokenRequests.push({ grant: new URLSearchParams(response.request().postData() ?? '').get('grant_type') ?? '', status: response.status() });
        }
      });
      await page.goto(url);
      return { context, page, errors, tokenRequests };
    };
    const logIn = async (session: SignedIn, who: string): Promise<void> => {
      await session.page.waitForURL(/\/auth\/authorize/);
      await session.page.getByLabel(who).check();
      await session.page.getByRole('button', { name: 'Inloggen' }).click();
      await session.page.waitForSelector('#app[data-ready]', { timeout: 30_000 });
    };
    const check = async (t: Test, page: Page, name: string): Promise<void> => {
      await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
      t.same(await seriousViolations(page), [], `${name}: no serious or critical accessibility violations`);
    };

    const gp = await open(`${base}/app/`);

    t.test('standalone launch as the demo GP', async (t) => {
      await logIn(gp, 'dr. S. de Boer, huisarts');
      t.notMatch(gp.page.url(), /code=|state=/, 'the code leaves the address bar');
      t.same(await gp.page.evaluate('({ session: Object.keys(sessionStorage), local: Object.keys(localStorage) })'), { session: [], local: [] }, 'no token, verifier or state left in web storage');
      t.same(gp.tokenRequests, [{ grant: 'authorization_code', status: 200 }], 'the code is exchanged once');
      t.match(await gp.page.locator('header.top').innerText(), /dr\. S\. de Boer/);
      t.match(await gp.page.locator('tr[data-referral="verwijzing-fysio-jansen"]').innerText(), /Afgerond[\s\S]*Terugkoppeling/, 'the inbox with the demo referral');
      await check(t, gp.page, 'verwijzingen-huisarts');

      await gp.page.getByRole('link', { name: 'A. Jansen' }).first().click();
      await gp.page.waitForSelector('#app[data-ready="patient"]');
      t.match(await gp.page.locator('main h1').innerText(), /Jansen/, 'the patient opens');

      await openConsolePage(gp.page, base, '#/logboek/zorgbrug-de-graaf');
      const disciplines = await gp.page.locator('table.logbook tbody tr td:nth-child(3)').allInnerTexts();
      t.ok(disciplines.includes('Fysiotherapeut') && disciplines.includes('Verpleegkundige'), 'the logbook with both disciplines');
      await openConsolePage(gp.page, base, '#/zorgbrug/zorgbrug-de-graaf');
      t.match(await gp.page.locator('main').innerText(), /6 van 9 gebruikt[\s\S]*3 van 4 \(\+1 op indicatie\)/, 'the care-bridge progress');
      await openConsolePage(gp.page, base, '#/uitkomsten/patient-el-amrani');
      t.ok((await gp.page.locator('#uitkomsten-grafiek canvas').count()) > 0, 'the PDI chart');
      await check(t, gp.page, 'uitkomsten-huisarts');
      t.same(gp.errors, []);
    });

    t.test('a redirect whose state this tab did not send is refused', async (t) => {
      const stranger = await open(`${base}/app/?code=stolen&state=not-mine`);
      await stranger.page.waitForSelector('[role="alert"]');
      t.match(await stranger.page.locator('main').innerText(), /Aanmelden mislukt/);
      t.same(stranger.tokenRequests, [], 'the code is never sent to the token endpoint');
      await stranger.context.close();
    });

    t.test('the physiotherapist completes a referral with feedback; it arrives in the GP inbox', async (t) => {
      t.equal((await api('', await admin(), { method: 'POST', body: referralToPhysio('launch', 'Nekklachten, 6 weken') })).status, 200);
      const physio = await open(`${base}/app/`);
      await logIn(physio, 'T. Visser, fysiotherapeut');
      const row = physio.page.locator('tr[data-referral="verwijzing-launch"]');
      await row.getByRole('button', { name: 'Accepteren' }).click();
      await physio.page.waitForSelector('#app[data-ready="verwijzingen"] tr[data-referral="verwijzing-launch"]:has-text("Geaccepteerd")');
      await row.locator('summary').click();
      await row.getByLabel('Terugkoppeling aan de verwijzer').fill('Na 5 behandelingen pijnvrij; oefenprogramma meegegeven.');
      await row.getByRole('button', { name: 'Afronden en versturen' }).click();
      await physio.page.waitForSelector('#app[data-ready="verwijzingen"] tr[data-referral="verwijzing-launch"]:has-text("Afgerond")');
      await check(t, physio.page, 'verwijzingen-fysiotherapeut');
      t.same(physio.errors, []);
      await physio.context.close();
      t.equal((await api('Task/taak-launch', await admin())).body['status'], 'completed', 'the Task is completed in the database');

      await openConsolePage(gp.page, base, '#/patient/patient-jansen');
      await openConsolePage(gp.page, base, '#/verwijzingen');
      t.match(await gp.page.locator('tr[data-referral="verwijzing-launch"]').innerText(), /Afgerond[\s\S]*Terugkoppeling/, "the feedback in the GP's inbox");
      await openConsolePage(gp.page, base, '#/brief/verwijzing-launch');
      t.match(await gp.page.locator('article.letter').innerText(), /Na 5 behandelingen pijnvrij/);
    });

    t.test('EHR launch opens on the EHR patient', async (t) => {
      const launched = await fetch(`${base}/auth/launch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await admin()}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ patient: 'patient-de-graaf' }),
      });
      t.equal(launched.status, 201);
      const { launch } = (await launched.json()) as { launch: string };
      const nurse = await open(`${base}/app/?iss=${encodeURIComponent(`${base}/fhir`)}&launch=${encodeURIComponent(launch)}`);
      await logIn(nurse, 'M. Bakker, wijkverpleegkundige');
      t.match(nurse.page.url(), /#\/patient\/patient-de-graaf$/);
      t.match(await nurse.page.locator('main h1').innerText(), /de Graaf/);
      await check(t, nurse.page, 'patient-ehr-launch');
      t.same(nurse.errors, []);
      await nurse.context.close();
    });

    t.test('the access token is refreshed before it expires', async (t) => {
      // 90 s tokens, refreshed a minute before: 30 s after the GP signed in.
      for (const until = Date.now() + 60_000; Date.now() < until && !gp.tokenRequests.some((r) => r.grant === 'refresh_token'); ) {
        await gp.page.waitForTimeout(1000);
      }
      t.ok(gp.tokenRequests.some((r) => r.grant === 'refresh_token' && r.status === 200), 'a refresh_token grant answered 200');
      await openConsolePage(gp.page, base, '#/verwijzingen');
      t.ok((await gp.page.locator('tr[data-referral]').count()) > 0, 'and the console goes on with the new token');
      t.same(gp.errors, []);
      await gp.context.close();
    });
  });
}
