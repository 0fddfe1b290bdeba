/**
 * Tokens for tests: the same demo client set development mode generates (generated once per test
 * process), and access tokens minted by the app's own token service, so every request in a test
 * passes the real authentication, authorization, narrowing and audit path.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { importJWK, SignJWT, type JWK } from 'jose';
import { ClientRegistry } from '../../src/auth/clients.js';
import { DEMO_USERS, generateDemoAuth, type DemoAuthFile, type DemoClient } from '../../src/auth/demo-clients.js';
import { loadSigningKey } from '../../src/auth/keys.js';
import { SigningKeys } from '../../src/auth/signing-keys.js';
import { ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type Principal } from '../../src/auth/principal.js';
import { ScopeSet } from '../../src/auth/scopes.js';
import type { AuthSetup } from '../../src/auth/service.js';

let demo: Promise<DemoAuthFile> | undefined;

export function demoAuth(): Promise<DemoAuthFile> {
  demo ??= generateDemoAuth('ES384');
  return demo;
}

export async function testAuthSetup(): Promise<AuthSetup> {
  const file = await demoAuth();
  return { signingKeys: new SigningKeys(await loadSigningKey(file.signingKey, 'ES384')), clients: new ClientRegistry(file.clients.map((c) => c.registration)) };
}

export async function demoClient(name: string): Promise<DemoClient> {
  const client = (await demoAuth()).clients.find((c) => c.registration.clientId === name);
  if (!client) {
    throw new Error(`no demo client ${name}`);
  }
  return client;
}

export type DemoName = 'gp' | 'physio' | 'nurse' | 'rehab' | 'admin' | 'auditor' | 'network';

/** The scopes of the system demo clients, as demo-clients.ts registers them. */
const SYSTEM_SCOPES: Readonly<Record<string, string>> = { admin: 'system/*.cruds', auditor: 'system/AuditEvent.rs', network: 'system/Measure.r' };

export interface PrincipalOptions {
  readonly scope?: string;
  readonly emergency?: string;
}

/** The principal a demo client's token stands for. */
export function principalFor(name: DemoName, options: PrincipalOptions = {}): Principal {
  const user = DEMO_USERS[name];
  if (!user) {
    const scope = options.scope ?? SYSTEM_SCOPES[name] ?? 'system/*.cruds';
    return { kind: 'system', clientId: name, scopes: ScopeSet.parse(scope) };
  }
  return {
    kind: 'user',
    clientId: name,
    scopes: ScopeSet.parse(options.scope ?? 'user/*.cruds'),
    user: {
      identifier: parseIdentifier(user.sub, PRACTITIONER_SYSTEMS)!,
      role: user.role,
      organization: parseIdentifier(user.organization, ORGANIZATION_SYSTEMS)!,
      name: user.name,
    },
    ...(options.emergency !== undefined ? { emergency: { reason: options.emergency } } : {}),
  };
}

/** A bearer token minted by the app for a demo client (or any principal). */
export async function tokenFor(app: FastifyInstance, who: DemoName | Principal, options: PrincipalOptions = {}): Promise<string> {
  const principal = typeof who === 'string' ? principalFor(who, options) : who;
  return (await app.auth.tokens.issue(principal)).token;
}

export const TOKEN_URL = 'http://localhost:80/auth/token';

/** A signed JWT with a demo client's key (client and user assertions, or forged tokens). */
export async function signWith(jwk: JWK, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const alg = (jwk.alg) ?? 'ES384';
  const key = await importJWK(jwk, alg);
  return new SignJWT(claims).setProtectedHeader({ alg, kid: jwk.kid, ...header }).sign(key);
}

/** A valid client assertion for a demo client, with overrides. */
export async function clientAssertion(name: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const client = await demoClient(name);
  const now = Math.floor(Date.now() / 1000);
  return signWith(client.privateJwk, { iss: name, sub: name, aud: TOKEN_URL, exp: now + 240, iat: now, jti: randomUUID(), ...overrides });
}

/** A valid user assertion for a demo user client, with overrides. */
export async function userAssertion(name: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const client = await demoClient(name);
  const user = DEMO_USERS[name]!;
  const now = Math.floor(Date.now() / 1000);
  return signWith(client.privateJwk, {
    iss: name,
    sub: user.sub,
    aud: TOKEN_URL,
    exp: now + 240,
    jti: randomUUID(),
    role: user.role,
    organization: user.organization,
    name: user.name,
    ...overrides,
  });
}

const adminTokens = new WeakMap<FastifyInstance, Promise<string>>();

/** `Bearer <token>` of the admin integration engine, for tests that call app.inject directly. */
export function adminAuthorization(app: FastifyInstance): Promise<string> {
  let token = adminTokens.get(app);
  if (!token) {
    token = tokenFor(app, 'admin').then((t) => `Bearer ${t}`);
    adminTokens.set(app, token);
  }
  return token;
}
