/**
 * SMART scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html): v2
 * `context/Type.cruds` and the v1 aliases `.read` (= rs), `.write` (= cud) and `.*` (= cruds).
 * `patient/` scopes need a patient launch context, which backend services do not have: they are
 * not granted. Query-restricted scopes (`?category=…`) are not supported and are refused.
 * AuditEvent is left out of `*`: only a scope that names AuditEvent reads the log (the
 * log-manager scope of NEN 7513), so a clinical `user/*.rs` never shows who looked at what.
 */
import { isR4ResourceType } from '../fhir/definitions.js';

export type ScopeContext = 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  readonly context: ScopeContext;
  /** A resource type, or `*` for every type except the audit log. */
  readonly type: string;
  readonly permissions: ReadonlySet<Permission>;
}

const ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];
const V1: Record<string, readonly Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ORDER };
const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)$/;

/** Types a wildcard scope does not reach. */
export const EXPLICIT_ONLY_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

/** Parses one scope; undefined for scopes that are not about resources (openid, fhirUser, …). */
export function parseScope(text: string): ResourceScope | undefined | 'invalid' {
  if (text.includes('?')) {
    return 'invalid';
  }
  const match = SCOPE.exec(text);
  if (!match) {
    return /^(patient|user|system)\//.test(text) ? 'invalid' : undefined;
  }
  const [, context, type, perms] = match as unknown as [string, string, string, string];
  if (type !== '*' && !isR4ResourceType(type)) {
    return 'invalid';
  }
  let permissions: readonly Permission[] | undefined = V1[perms];
  if (!permissions) {
    // v2 letters must appear in cruds order, each once.
    const letters = [...perms] as Permission[];
    const inOrder = letters.every((l, i) => ORDER.includes(l) && (i === 0 || ORDER.indexOf(l) > ORDER.indexOf(letters[i - 1] as Permission)));
    if (!inOrder || letters.length === 0) {
      return 'invalid';
    }
    permissions = letters;
  }
  if (context === 'patient') {
    return 'invalid';
  }
  return { context: context as ScopeContext, type, permissions: new Set(permissions) };
}

export function formatScope(scope: ResourceScope): string {
  return `${scope.context}/${scope.type}.${ORDER.filter((p) => scope.permissions.has(p)).join('')}`;
}

function reaches(granted: string, type: string): boolean {
  return granted === type || (granted === '*' && !EXPLICIT_ONLY_TYPES.has(type));
}

/** The scopes a principal holds, with the questions authorization asks of them. */
export class ScopeSet {
  constructor(readonly scopes: readonly ResourceScope[]) {}

  static parse(text: string): ScopeSet {
    const scopes = text
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(parseScope)
      .filter((s): s is ResourceScope => s !== undefined && s !== 'invalid');
    return new ScopeSet(scopes);
  }

  allows(type: string, permission: Permission): boolean {
    return this.scopes.some((s) => s.permissions.has(permission) && reaches(s.type, type));
  }

  /**
   * Types whose rows may appear in an answer (read or search on them): `{ all: true, except }`
   * for a wildcard, else the list.
   */
  visibleTypes(): { all: true; except: string[] } | { all: false; types: string[] } {
    const visible = this.scopes.filter((s) => s.permissions.has('r') || s.permissions.has('s'));
    if (visible.some((s) => s.type === '*')) {
      const named = new Set(visible.map((s) => s.type));
      return { all: true, except: [...EXPLICIT_ONLY_TYPES].filter((t) => !named.has(t)) };
    }
    return { all: false, types: [...new Set(visible.map((s) => s.type))] };
  }

  toString(): string {
    return this.scopes.map(formatScope).join(' ');
  }
}

/**
 * What a token may hold: each requested scope cut down to what the client is registered for, in
 * the requested context only. `user/*.rs` against `user/Observation.cruds` yields
 * `user/Observation.rs`. Throws 'invalid' (via the result) for malformed requests.
 */
export function grantScopes(requested: string, registered: readonly string[], context: ScopeContext): { granted: ScopeSet } | { invalid: string } {
  const allowed = registered.map(parseScope).filter((s): s is ResourceScope => s !== undefined && s !== 'invalid');
  const granted: ResourceScope[] = [];
  for (const text of requested.split(/\s+/).filter((s) => s !== '')) {
    const scope = parseScope(text);
    if (scope === 'invalid') {
      return { invalid: text };
    }
    if (scope === undefined || scope.context !== context) {
      continue;
    }
    for (const reg of allowed.filter((a) => a.context === context)) {
      const type = scope.type === '*' ? reg.type : reg.type === '*' ? (EXPLICIT_ONLY_TYPES.has(scope.type) ? undefined : scope.type) : reg.type === scope.type ? scope.type : undefined;
      const permissions = new Set([...scope.permissions].filter((p) => reg.permissions.has(p)));
      if (type !== undefined && permissions.size > 0) {
        granted.push({ context, type, permissions });
      }
    }
  }
  return { granted: new ScopeSet(merge(granted)) };
}

function merge(scopes: readonly ResourceScope[]): ResourceScope[] {
  const byKey = new Map<string, Set<Permission>>();
  for (const s of scopes) {
    const key = `${s.context}/${s.type}`;
    byKey.set(key, new Set([...(byKey.get(key) ?? []), ...s.permissions]));
  }
  return [...byKey].map(([key, permissions]) => {
    const [context, type] = key.split('/') as [ScopeContext, string];
    return { context, type, permissions };
  });
}
