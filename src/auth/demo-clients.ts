/**
 * Development mode's demo clients (README quick start): on first start Schakel generates a signing
 * key and one key pair per demo client and keeps them in DATA_DIR/demo-auth.json (mode 0600), which
 * `npm run token` reads to sign its assertions. User-context clients act for one professional of
 * the synthetic fixtures each; `admin` is an integration engine with every system scope,
 * `auditor` the log manager and `network` a regional care network that needs aggregate figures
 * only: it reads Measures and runs $evaluate-measure (an operation that changes nothing needs a
 * read scope on its type, authorize.ts), and sees no individual record and writes nothing. Production mode refuses to start with any of them (setup.ts).
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JWK } from 'jose';
import type { ClientRegistration } from './clients.js';
import { generatePrivateJwk, publicPart, type SigningAlgorithm } from './keys.js';
import { NAMING_SYSTEM } from './principal.js';

/** UZI role codes (urn:oid:2.16.840.1.113883.2.4.15.111), as the fixtures' PractitionerRoles use them. */
export const ROLE_SYSTEM = 'urn:oid:2.16.840.1.113883.2.4.15.111';

export interface DemoUser {
  readonly sub: string;
  readonly role: string;
  readonly organization: string;
  readonly name: string;
}

export interface DemoClient {
  readonly registration: ClientRegistration;
  readonly privateJwk: JWK;
  readonly user?: DemoUser;
}

export interface DemoAuthFile {
  readonly signingKey: JWK;
  readonly clients: DemoClient[];
}

const agb = (value: string): string => `${NAMING_SYSTEM.agb}|${value}`;
const uzi = (value: string): string => `${NAMING_SYSTEM.uzi}|${value}`;
const ura = (value: string): string => `${NAMING_SYSTEM.ura}|${value}`;

/**
 * The demo professionals: practitioners and organisations of fixtures/ (rest-core-demo.json and
 * workflow-10-organisations.json), organisations by AGB or URA as vendor systems send them.
 */
export const DEMO_USERS: Readonly<Record<string, DemoUser>> = {
  gp: { sub: uzi('999990001'), role: `${ROLE_SYSTEM}|01.015`, organization: agb('01099001'), name: 'dr. S. de Boer' },
  physio: { sub: uzi('999990002'), role: `${ROLE_SYSTEM}|04.000`, organization: agb('04099001'), name: 'T. Visser' },
  nurse: { sub: uzi('999990004'), role: `${ROLE_SYSTEM}|30.000`, organization: ura('90000003'), name: 'M. Bakker' },
  rehab: { sub: uzi('999990005'), role: `${ROLE_SYSTEM}|01.042`, organization: ura('90000004'), name: 'dr. J. de Vries' },
};

const SYSTEM_CLIENTS: Readonly<Record<string, readonly string[]>> = {
  admin: ['system/*.cruds'],
  auditor: ['system/AuditEvent.rs'],
  network: ['system/Measure.r'],
};

async function demoClient(clientId: string, clientAlg: SigningAlgorithm): Promise<DemoClient> {
  const privateJwk = await generatePrivateJwk(clientAlg);
  const user = DEMO_USERS[clientId];
  const scopes = user ? ['user/*.cruds'] : [...(SYSTEM_CLIENTS[clientId] ?? [])];
  return {
    registration: { clientId, name: `Demo ${clientId}`, jwks: { keys: [publicPart(privateJwk)] }, scopes, organizations: user ? [user.organization] : [], demo: true },
    privateJwk,
    ...(user ? { user } : {}),
  };
}

/** The professionals' browser console, served at /app (development registration; production registers its own). */
export const CONSOLE_CLIENT_ID = 'schakel-console';

/**
 * The console as a SMART public client: no keys, its one redirect URI under the server's own
 * origin (`issuer`, app.ts tokenIdentity), user/ scopes only. Not written to demo-auth.json: the
 * origin is configuration (PUBLIC_BASE_URL), so the registration is made at start.
 */
export function consoleClient(issuer: string): ClientRegistration {
  return {
    clientId: CONSOLE_CLIENT_ID,
    name: 'Schakel console',
    tokenEndpointAuthMethod: 'none',
    redirectUris: [`${issuer}/app/`],
    scopes: ['user/*.cruds'],
    organizations: [],
    demo: true,
  };
}

const DEMO_CLIENT_IDS = [...Object.keys(DEMO_USERS), ...Object.keys(SYSTEM_CLIENTS)];

export async function generateDemoAuth(alg: SigningAlgorithm, clientAlg: SigningAlgorithm = 'ES384'): Promise<DemoAuthFile> {
  const clients: DemoClient[] = [];
  for (const clientId of DEMO_CLIENT_IDS) {
    clients.push(await demoClient(clientId, clientAlg));
  }
  return { signingKey: await generatePrivateJwk(alg), clients };
}

/** The complete file under a name of this process's own, so no reader ever sees half of it. */
function writeTemporary(path: string, demo: DemoAuthFile): string {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temporary, JSON.stringify(demo, undefined, 2), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  return temporary;
}

function readDemoAuth(path: string): DemoAuthFile {
  return JSON.parse(readFileSync(path, 'utf8')) as DemoAuthFile;
}

/**
 * Creates the file only if no other process has: two nodes (or a start and `npm run token`) that
 * start together on one DATA_DIR must end up with the same keys, or one of them signs with keys
 * the other never registered. link(2) fails with EEXIST where the file is already there, and the
 * file it links is complete; the loser reads the winner's file.
 */
function createDemoAuth(path: string, demo: DemoAuthFile): DemoAuthFile {
  const temporary = writeTemporary(path, demo);
  try {
    linkSync(temporary, path);
    return demo;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
    return readDemoAuth(path);
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * Reads DATA_DIR/demo-auth.json, creating it on first start; demo clients added since the file
 * was made (such as `network`) are added to it, keeping the keys already handed out.
 */
export async function demoAuthFile(path: string, alg: SigningAlgorithm): Promise<DemoAuthFile> {
  if (existsSync(path)) {
    const demo = readDemoAuth(path);
    const known = new Set(demo.clients.map((c) => c.registration.clientId));
    const missing = DEMO_CLIENT_IDS.filter((id) => !known.has(id));
    if (missing.length === 0) {
      return demo;
    }
    const added: DemoAuthFile = { ...demo, clients: [...demo.clients] };
    for (const clientId of missing) {
      added.clients.push(await demoClient(clientId, 'ES384'));
    }
    renameSync(writeTemporary(path, added), path);
    return added;
  }
  return createDemoAuth(path, await generateDemoAuth(alg));
}
