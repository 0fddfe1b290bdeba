/**
 * AuditEvent read and search over the audit log (storage/migrations/013_audit_log.sql). The
 * parameters are those of https://hl7.org/fhir/R4/auditevent.html#search as the rendering
 * (audit-event.ts) fills them: patient, entity, agent (reference or :identifier), type, subtype,
 * action, outcome, date, _security (break-the-glass), _id, _lastUpdated; sorted on recorded, paged
 * by keyset on (recorded, id).
 */
import { badRequest, notSupported } from '../fhir/outcomes.js';
import { parseDateRange } from '../fhir/dates.js';
import type { SearchRequest } from '../search/request.js';
import type { Queryable } from '../storage/database.js';
import { ACT_REASON, CLIENT_ID_SYSTEM, DCM, SUBTYPE } from './audit-event.js';
import { AUDIT_LOG_COLUMNS, AUDIT_LOG_FROM, type AuditLogRow } from './audit-log-row.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const OPERATION_DEFINITION = 'http://hl7.org/fhir/OperationDefinition';

/** One AuditEvent by id; undefined when the log has none (also for ids that are no uuid). */
export async function readAuditLog(db: Queryable, id: string): Promise<AuditLogRow | undefined> {
  if (!UUID.test(id)) {
    return undefined;
  }
  const [row] = await db.query<AuditLogRow>(`SELECT ${AUDIT_LOG_COLUMNS} FROM ${AUDIT_LOG_FROM} WHERE audit_log.id = $1::uuid`, [id]);
  return row;
}

class Sql {
  readonly params: unknown[] = [];
  bind(value: unknown, type: string): string {
    this.params.push(value);
    return `$${this.params.length}::${type}`;
  }
}

type Leaf = { readonly name: string; readonly modifier: string | undefined; readonly values: readonly string[] };

/** Search values keep their escapes (search/parse.ts); these parameters only need `\,` `\|` `\$` `\\` undone. */
function unescape(value: string): string {
  return value.replace(/\\([,|$\\])/g, '$1');
}

function token(value: string): { system: string | undefined; code: string } {
  const bar = value.indexOf('|');
  return bar === -1 ? { system: undefined, code: value } : { system: value.slice(0, bar), code: value.slice(bar + 1) };
}

/** `Patient/x`, `x` or `[base]/Patient/x` as `Patient/x` (or the reference as given for other types). */
function reference(value: string, defaultType: string | undefined): string {
  const parts = value.split('/');
  const history = parts.indexOf('_history');
  const core = history >= 2 ? parts.slice(0, history + 2) : parts;
  if (core.length === 1 && defaultType !== undefined) {
    return `${defaultType}/${value}`;
  }
  const tail = history >= 2 ? core.slice(history - 2) : core.slice(-2);
  return tail.join('/');
}

function noModifier(leaf: Leaf): void {
  if (leaf.modifier !== undefined) {
    throw notSupported(`The audit log does not support the modifier :${leaf.modifier} on ${leaf.name}`, leaf.name);
  }
}

function patientCondition(sql: Sql, leaf: Leaf): string {
  noModifier(leaf);
  const ids = leaf.values.map((v) => reference(unescape(v), 'Patient')).filter((r) => r.startsWith('Patient/')).map((r) => r.slice('Patient/'.length));
  return ids.length === 0 ? 'false' : `patients && ${sql.bind(ids, 'text[]')}`;
}

function entityCondition(sql: Sql, leaf: Leaf): string {
  noModifier(leaf);
  const alternatives: string[] = [];
  const unversioned: string[] = [];
  for (const raw of leaf.values) {
    const ref = reference(unescape(raw), undefined);
    const [type, id, marker] = ref.split('/');
    if (type === 'Patient' && id !== undefined && marker === undefined) {
      alternatives.push(`patients && ${sql.bind([id], 'text[]')}`);
    }
    if (marker === '_history') {
      const base = `${type ?? ''}/${id ?? ''}`;
      alternatives.push(`(audit_log_unversioned(resources) && ${sql.bind([base], 'text[]')} AND resources && ${sql.bind([ref], 'text[]')})`);
    } else {
      unversioned.push(ref);
    }
  }
  if (unversioned.length > 0) {
    alternatives.push(`audit_log_unversioned(resources) && ${sql.bind(unversioned, 'text[]')}`);
  }
  return `(${alternatives.join(' OR ')})`;
}

function agentCondition(sql: Sql, leaf: Leaf): string {
  if (leaf.modifier === 'identifier') {
    const alternatives = leaf.values.map((raw) => {
      const { system, code } = token(unescape(raw));
      const value = sql.bind(code, 'text');
      if (system === undefined || system === '') {
        return `(user_value = ${value} OR organization_value = ${value} OR responsible_value = ${value} OR client_id = ${value})`;
      }
      const sys = sql.bind(system, 'text');
      const client = system === CLIENT_ID_SYSTEM ? ` OR client_id = ${value}` : '';
      return `((user_system = ${sys} AND user_value = ${value}) OR (organization_system = ${sys} AND organization_value = ${value}) OR (responsible_system = ${sys} AND responsible_value = ${value})${client})`;
    });
    return `agent IN (SELECT agent_id FROM audit_agent WHERE ${alternatives.join(' OR ')})`;
  }
  noModifier(leaf);
  const refs = sql.bind(leaf.values.map((v) => reference(unescape(v), 'Practitioner')), 'text[]');
  return `agent IN (SELECT agent_id FROM audit_agent WHERE user_reference = ANY(${refs}) OR organization_reference = ANY(${refs}))`;
}

function typeCondition(leaf: Leaf): string {
  noModifier(leaf);
  const alternatives = new Set<string>();
  for (const raw of leaf.values) {
    const { system, code } = token(unescape(raw));
    if (code === '110114' && (system === undefined || system === DCM)) {
      alternatives.add(`event = 'login'`);
    } else if (code === 'rest' && (system === undefined || system === EVENT_TYPE)) {
      alternatives.add(`event <> 'login'`);
    }
  }
  return alternatives.size === 0 ? 'false' : `(${[...alternatives].join(' OR ')})`;
}

/** The events whose rendered subtype (audit-event.ts SUBTYPE) is this restful-interaction code. */
function eventsOfSubtype(code: string): string[] {
  const mapped = Object.entries(SUBTYPE).filter(([, to]) => to === code).map(([from]) => from);
  return code in SUBTYPE || code === 'login' ? mapped : [code, ...mapped];
}

function subtypeCondition(sql: Sql, leaf: Leaf): string {
  noModifier(leaf);
  const events: string[] = [];
  const operations: string[] = [];
  for (const raw of leaf.values) {
    const { system, code } = token(unescape(raw));
    if (system === undefined || system === RESTFUL) {
      events.push(...eventsOfSubtype(code));
    }
    if ((system === undefined || system === DCM) && code === '110122') {
      events.push('login');
    }
    if (system === undefined || system === OPERATION_DEFINITION) {
      operations.push(code);
    }
  }
  const alternatives = [
    ...(events.length > 0 ? [`event = ANY(${sql.bind(events, 'text[]')})`] : []),
    ...(operations.length > 0 ? [`operation = ANY(${sql.bind(operations, 'text[]')})`] : []),
  ];
  return alternatives.length === 0 ? 'false' : `(${alternatives.join(' OR ')})`;
}

function codeCondition(sql: Sql, leaf: Leaf, column: string, type: string, valid: RegExp): string {
  noModifier(leaf);
  const codes = leaf.values.map((raw) => token(unescape(raw)).code).filter((code) => valid.test(code));
  return codes.length === 0 ? 'false' : `${column} = ANY(${sql.bind(codes, type)})`;
}

function securityCondition(leaf: Leaf): string {
  noModifier(leaf);
  const btg = leaf.values.some((raw) => {
    const { system, code } = token(unescape(raw));
    return code === 'BTG' && (system === undefined || system === ACT_REASON);
  });
  return btg ? 'btg_reason IS NOT NULL' : 'false';
}

const PREFIX = /^(eq|ne|lt|gt|le|ge|sa|eb|ap)/;

/** A date comparison on the instant `recorded` (https://hl7.org/fhir/R4/search.html#prefix). */
function dateCondition(sql: Sql, leaf: Leaf): string {
  noModifier(leaf);
  const alternatives = leaf.values.map((raw) => {
    const prefix = PREFIX.exec(raw)?.[1] ?? 'eq';
    const text = PREFIX.test(raw) ? raw.slice(2) : raw;
    const range = parseDateRange(text);
    if (!range) {
      throw badRequest(`${leaf.name}: "${raw}" is no FHIR date`, leaf.name);
    }
    // Bound only where used: a parameter the statement does not mention has no type.
    const start = (): string => sql.bind(range.start.toISOString(), 'timestamptz');
    const end = (): string => sql.bind(range.end.toISOString(), 'timestamptz');
    switch (prefix) {
      case 'ne':
        return `NOT (recorded >= ${start()} AND recorded < ${end()})`;
      case 'lt':
      case 'eb':
        return `recorded < ${start()}`;
      case 'le':
        return `recorded < ${end()}`;
      case 'gt':
      case 'sa':
        return `recorded >= ${end()}`;
      case 'ge':
        return `recorded >= ${start()}`;
      case 'ap': {
        // search.html#prefix leaves "approximately" to the server: 10% of the distance to now.
        const margin = Math.abs(Date.now() - range.start.getTime()) / 10;
        const low = sql.bind(new Date(range.start.getTime() - margin).toISOString(), 'timestamptz');
        const high = sql.bind(new Date(range.end.getTime() + margin).toISOString(), 'timestamptz');
        return `(recorded >= ${low} AND recorded < ${high})`;
      }
      default:
        return `(recorded >= ${start()} AND recorded < ${end()})`;
    }
  });
  return `(${alternatives.join(' OR ')})`;
}

function condition(sql: Sql, leaf: Leaf): string {
  switch (leaf.name.split(':')[0]) {
    case 'patient':
      return patientCondition(sql, leaf);
    case 'entity':
      return entityCondition(sql, leaf);
    case 'agent':
      return agentCondition(sql, leaf);
    case 'type':
      return typeCondition(leaf);
    case 'subtype':
      return subtypeCondition(sql, leaf);
    case 'action':
      return codeCondition(sql, leaf, 'action::text', 'text[]', /^[CRUDE]$/);
    case 'outcome':
      return codeCondition(sql, leaf, 'outcome', 'smallint[]', /^[048]$/);
    case '_id':
      return codeCondition(sql, leaf, 'id', 'uuid[]', UUID);
    case 'date':
    case '_lastUpdated':
      return dateCondition(sql, leaf);
    case '_security':
      return securityCondition(leaf);
    default:
      throw notSupported(`The audit log cannot be searched by ${leaf.name}`, leaf.name);
  }
}

/** `_cursor`: the (recorded, id) of the last row of the previous page. */
function encodeCursor(row: AuditLogRow): string {
  return Buffer.from(`${new Date(row.recorded).toISOString()} ${row.id}`, 'utf8').toString('base64url');
}

function decodeCursor(raw: string): { recorded: string; id: string } {
  const [recorded, id] = Buffer.from(raw, 'base64url').toString('utf8').split(' ');
  if (recorded === undefined || id === undefined || !UUID.test(id) || Number.isNaN(Date.parse(recorded))) {
    throw badRequest('_cursor is not one this server handed out', '_cursor');
  }
  return { recorded, id };
}

export interface AuditLogPage {
  readonly rows: AuditLogRow[];
  /** `_cursor` of the next page, when there is one. */
  readonly next: string | undefined;
  readonly total: number | undefined;
}

/** One page of the audit log for a parsed AuditEvent search. */
export async function searchAuditLog(db: Queryable, request: SearchRequest): Promise<AuditLogPage> {
  const sql = new Sql();
  const filters = request.criteria.map(({ criterion, name }) => {
    if (criterion.kind !== 'leaf') {
      throw notSupported(`The audit log does not support chained search (${name})`, name);
    }
    return condition(sql, { name, modifier: criterion.modifier, values: criterion.values });
  });
  const descending = request.sort.length === 0 ? true : request.sort.every((key) => key.descending);
  for (const key of request.sort) {
    if (key.param.code !== 'date' && key.param.code !== '_lastUpdated') {
      throw notSupported(`The audit log sorts by date only, not ${key.param.code}`, '_sort');
    }
  }
  const where = filters.length === 0 ? 'true' : filters.join(' AND ');
  const wantsTotal = request.summary === 'count' || request.total === 'accurate' || request.total === 'estimate';
  const total = wantsTotal
    ? Number((await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM audit_log WHERE ${where}`, sql.params))[0]?.n ?? 0)
    : undefined;
  if (request.summary === 'count') {
    return { rows: [], next: undefined, total };
  }
  const page = new Sql();
  page.params.push(...sql.params);
  let keyset = '';
  if (request.cursor !== undefined) {
    const after = decodeCursor(request.cursor);
    keyset = ` AND (recorded, id) ${descending ? '<' : '>'} (${page.bind(after.recorded, 'timestamptz')}, ${page.bind(after.id, 'uuid')})`;
  }
  const order = descending ? 'DESC' : 'ASC';
  const limit = page.bind(request.count + 1, 'integer');
  const rows = await db.query<AuditLogRow>(
    `SELECT ${AUDIT_LOG_COLUMNS} FROM ${AUDIT_LOG_FROM} WHERE ${where}${keyset} ORDER BY recorded ${order}, id ${order} LIMIT ${limit}`,
    page.params
  );
  const more = rows.length > request.count;
  const shown = more ? rows.slice(0, request.count) : rows;
  const last = shown[shown.length - 1];
  return { rows: shown, next: more && last ? encodeCursor(last) : undefined, total };
}
