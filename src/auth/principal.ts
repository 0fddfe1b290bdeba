/**
 * The principal: who is asking, as authentication establishes it from a token, and what
 * authorization, narrowing, Provenance and the audit trail need to know about them (NEN 7513
 * §"gebruiker": user id, role, responsible user, organisation, client system).
 */
import { ScopeSet } from './scopes.js';

export const NAMING_SYSTEM = {
  bsn: 'http://fhir.nl/fhir/NamingSystem/bsn',
  uzi: 'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers',
  big: 'http://fhir.nl/fhir/NamingSystem/big',
  agb: 'http://fhir.nl/fhir/NamingSystem/agb-z',
  ura: 'http://fhir.nl/fhir/NamingSystem/ura',
} as const;

/** Identifier systems that name a professional, and those that name a care provider. */
export const PRACTITIONER_SYSTEMS: ReadonlySet<string> = new Set([NAMING_SYSTEM.uzi, NAMING_SYSTEM.big, NAMING_SYSTEM.agb]);
export const ORGANIZATION_SYSTEMS: ReadonlySet<string> = new Set([NAMING_SYSTEM.ura, NAMING_SYSTEM.agb]);

export interface TokenIdentifier {
  readonly system: string;
  readonly value: string;
}

/** `system|value`, the form identifiers take in token claims and search. */
export function parseIdentifier(text: unknown, allowed: ReadonlySet<string>): TokenIdentifier | undefined {
  if (typeof text !== 'string') {
    return undefined;
  }
  const bar = text.lastIndexOf('|');
  const system = text.slice(0, bar);
  const value = text.slice(bar + 1);
  return bar > 0 && value !== '' && allowed.has(system) ? { system, value } : undefined;
}

export function formatIdentifier(identifier: TokenIdentifier): string {
  return `${identifier.system}|${identifier.value}`;
}

/** The acting person behind a user-context token. */
export interface ActingUser {
  /** UZI, BIG or AGB identifier of the professional. */
  readonly identifier: TokenIdentifier;
  /** Role code, `system|code` or a bare code (e.g. UZI role code 01.015 Huisarts). */
  readonly role: string;
  /** The care provider the user works for, by URA or AGB. */
  readonly organization: TokenIdentifier;
  /** The professional responsible for this user's actions, when that is someone else (NEN 7513). */
  readonly responsible?: TokenIdentifier;
  readonly name?: string;
}

export interface Principal {
  readonly kind: 'user' | 'system';
  /** The registered client system the token was issued to (or the external token's client). */
  readonly clientId: string;
  readonly scopes: ScopeSet;
  readonly user?: ActingUser;
  /** `Organization/id` and `Practitioner/id` of the user's identifiers, when this server knows them. */
  readonly organizationRef?: string;
  readonly practitionerRef?: string;
  /** Emergency access (break-the-glass) with the reason the user gave. */
  readonly emergency?: { readonly reason: string };
  /** The token's jti, so the audit trail can tie requests to one token. */
  readonly tokenId?: string;
  /** Issuer of the token: this server or the configured external issuer. */
  readonly issuer?: string;
  /** The SMART app grant (login) the token was issued under; revoking it ends the token (auth/app-grants.ts). */
  readonly grantId?: string;
}

/** The server itself (seeding demo data): every scope, no user. */
export function serverPrincipal(clientId = 'schakel'): Principal {
  return { kind: 'system', clientId, scopes: ScopeSet.parse('system/*.cruds system/AuditEvent.cruds') };
}
