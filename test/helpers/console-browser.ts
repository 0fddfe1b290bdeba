/**
 * What the console's browser tests share: the demo professionals' tokens as their EHRs get them
 * (SMART Backend Services with a user assertion, as scripts/token.ts does), a headless Chromium
 * (the Debian package, driven by playwright-core) that serves the console's test entry
 * (console/testing/test-entry.ts) in place of its production script, and axe-core on each page.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DemoAuthFile } from '../../src/auth/demo-clients.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/auth/token-endpoint.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

async function sign(jwk: JWK, claims: Record<string, unknown>): Promise<string> {
  const alg = jwk.alg ?? 'ES384';
  return new SignJWT(claims).setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' }).sign(await importJWK(jwk, alg));
}

/** A bearer token of a demo client (`gp`, `physio`, `admin`...) from the running server. */
export async function demoToken(base: string, dataDir: string, clientId: string): Promise<string> {
  const demo = JSON.parse(readFileSync(join(dataDir, 'demo-auth.json'), 'utf8')) as DemoAuthFile;
  const client = demo.clients.find((c) => c.registration.clientId === clientId);
  if (!client) {
    throw new Error(`no demo client ${clientId}`);
  }
  const tokenUrl = `${base}/auth/token`;
  const now = Math.floor(Date.now() / 1000);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await sign(client.privateJwk, { iss: clientId, sub: clientId, aud: tokenUrl, iat: now, exp: now + 240, jti: randomUUID() }),
    scope: client.registration.scopes.join(' '),
  });
  if (client.user) {
    const { sub, role, organization, name } = client.user;
    form.set('user_assertion', await sign(client.privateJwk, { iss: clientId, sub, aud: tokenUrl, exp: now + 240, jti: randomUUID(), role, organization, name }));
  }
  const response = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  const body = (await response.json()) as { access_token?: string };
  if (!response.ok || body.access_token === undefined) {
    throw new Error(`token for ${clientId} refused: ${response.status}`);
  }
  return body.access_token;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

/** What the test entry reads: the same fields the SMART flow puts into the in-memory session. */
export interface HandedSession {
  readonly accessToken: string;
  readonly fhirUser: string;
  readonly userName: string;
  readonly patient?: string;
}

/**
 * A page of the console signed in as `session`: the production index.html and stylesheet from the
 * server, its script replaced by the test entry's bundle, which hands the session to the console.
 * Records what the browser reports as errors (a CSP violation is one).
 */
export async function consolePage(browser: Browser, testScript: string, session: HandedSession): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') {
      errors.push(message.text());
    }
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.route(/\/app\/assets\/main-[A-Z0-9]+\.js$/, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: testScript }));
  await serveAxe(page);
  await page.addInitScript((handed) => {
    (globalThis as { schakelTestSession?: unknown }).schakelTestSession = handed;
  }, session);
  return { page, errors };
}

/** Navigates to a console page and waits until it has drawn its data (app-shell.ts sets data-ready). */
export async function openConsolePage(page: Page, base: string, hash: string): Promise<void> {
  const page_ = hash.replace(/^#\/?/, '').split(/[/?]/)[0] || 'verwijzingen';
  if (page.url().startsWith(`${base}/app/`)) {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  } else {
    await page.goto(`${base}/app/${hash}`);
  }
  await page.waitForSelector(`#app[data-ready="${page_}"]`, { timeout: 20_000 });
}


export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: Array<{ target: unknown }>;
}

/**
 * axe-core from the page's own origin, for seriousViolations: the console's CSP allows no inline
 * script, not even the test's, so `addScriptTag({ content })` is refused.
 */
export async function serveAxe(page: Page): Promise<void> {
  await page.route(/\/app\/assets\/axe-for-tests\.js$/, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: AXE_SOURCE }));
}

/** axe-core's WCAG 2.1 A and AA rules on the page; the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ url: new URL('assets/axe-for-tests.js', page.url()).toString() });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
