/**
 * Writes audit records into the audit log (storage/migrations/013_audit_log.sql): one multi-row
 * INSERT per batch, whatever its size, one compact row per record with the NEN 7513 fields as
 * columns and the acting user, organisation and client once in audit_agent. No resource, history
 * or search-index rows: AuditEvent is rendered from the row when it is read
 * (audit-log-search.ts). Nothing may change a record afterwards.
 */
import { issue, notSupported, outcome, RetryLaterError } from '../fhir/outcomes.js';
import { newId } from '../fhir/ids.js';
import type { QueryParams } from '../fhir/request.js';
import { capacityFault } from '../storage/capacity-faults.js';
import { isConnectionFault } from '../storage/connection-faults.js';
import type { Queryable } from '../storage/database.js';
import type { AuditRecord } from './audit-record.js';

/** The AuditEvent search parameters the audit log answers; a search on any other answers 400. */
export const AUDIT_SEARCH_PARAMS: ReadonlySet<string> = new Set([
  'date',
  'patient',
  'entity',
  'agent',
  'type',
  'subtype',
  'action',
  'outcome',
  '_security',
]);

/** Parameters that shape a result rather than match a column. */
const RESULT_PARAMS: ReadonlySet<string> = new Set(['_id', '_lastUpdated', '_sort', '_count', '_total', '_summary', '_elements', '_cursor']);

/**
 * 400 for an AuditEvent search on a parameter the audit log does not answer: silently matching
 * nothing would, for an access log, read as "nobody looked".
 */
export function assertAuditSearch(query: QueryParams): void {
  for (const [name] of query) {
    const base = name.split(/[:.]/)[0] ?? name;
    if (!AUDIT_SEARCH_PARAMS.has(base) && !RESULT_PARAMS.has(base)) {
      throw notSupported(`AuditEvent search supports ${[...AUDIT_SEARCH_PARAMS].join(', ')}; not ${name}`, name);
    }
  }
}

/** AuditEvent.outcome (https://hl7.org/fhir/R4/valueset-audit-event-outcome.html) of an HTTP status. */
export function outcomeOf(status: number): 0 | 4 | 8 {
  return status >= 500 ? 8 : status >= 400 ? 4 : 0;
}

type Column = readonly [string, string, (r: AuditRecord) => unknown];

/** Columns of audit_log: name, SQL type, value of a record. The INSERT binds one array per column. */
const LOG_COLUMNS: readonly Column[] = [
  ['request_id', 'text', (r) => r.requestId ?? null],
  ['event', 'text', (r) => r.event],
  ['operation', 'text', (r) => r.operation ?? null],
  ['action', '"char"', (r) => r.action],
  ['outcome', 'smallint', (r) => outcomeOf(r.status)],
  ['failure', 'text', (r) => r.failure ?? null],
  ['btg_reason', 'text', (r) => r.principal?.emergency?.reason ?? null],
  ['address', 'text', (r) => r.address ?? null],
  ['resource_type', 'text', (r) => r.resourceType ?? null],
  ['query', 'text', (r) => r.query ?? null],
];

/** Columns of audit_agent: who acted, the same for every request of one token (013_audit_log.sql). */
const AGENT_COLUMNS: readonly Column[] = [
  ['client_id', 'text', (r) => r.principal?.clientId ?? r.claimedClient ?? null],
  ['user_system', 'text', (r) => r.principal?.user?.identifier.system ?? null],
  ['user_value', 'text', (r) => r.principal?.user?.identifier.value ?? null],
  ['user_name', 'text', (r) => r.principal?.user?.name ?? null],
  ['user_role', 'text', (r) => r.principal?.user?.role ?? null],
  ['user_reference', 'text', (r) => (r.principal?.user ? (r.principal.practitionerRef ?? null) : null)],
  ['organization_system', 'text', (r) => r.principal?.user?.organization.system ?? null],
  ['organization_value', 'text', (r) => r.principal?.user?.organization.value ?? null],
  ['organization_reference', 'text', (r) => (r.principal?.user ? (r.principal.organizationRef ?? null) : null)],
  ['responsible_system', 'text', (r) => r.principal?.user?.responsible?.system ?? null],
  ['responsible_value', 'text', (r) => r.principal?.user?.responsible?.value ?? null],
];

/**
 * Patient ids and `Type/id/_history/v` references hold no spaces (R4 id: [A-Za-z0-9\-.]), so each
 * record's list travels as one space-joined text and is split back in SQL: unnest cannot take
 * arrays of different lengths.
 */
const SEPARATOR = ' ';

const COLUMNS: readonly Column[] = [...LOG_COLUMNS, ...AGENT_COLUMNS];

/**
 * One statement: the agents not yet known join audit_agent (ON CONFLICT DO NOTHING takes no lock
 * on an existing row), then the records join audit_log.
 */
const INSERT_SQL = (() => {
  const names = ['id', 'recorded', ...COLUMNS.map(([name]) => name), 'patients', 'resources'];
  const arrays = ['$1::uuid[]', '$2::timestamptz[]', ...COLUMNS.map(([, type], i) => `$${i + 3}::${type}[]`), `$${COLUMNS.length + 3}::text[]`, `$${COLUMNS.length + 4}::text[]`];
  const agentNames = AGENT_COLUMNS.map(([name]) => name);
  const logNames = ['id', 'recorded', ...LOG_COLUMNS.map(([name]) => name)];
  return `WITH v AS (
  SELECT x.*, audit_agent_id(${agentNames.map((n) => `x.${n}`).join(', ')}) AS agent
    FROM unnest(${arrays.join(', ')}) WITH ORDINALITY AS x(${names.join(', ')}, n)
), a AS (
  INSERT INTO audit_agent (agent_id, ${agentNames.join(', ')})
  SELECT DISTINCT ON (agent) agent, ${agentNames.join(', ')} FROM v ORDER BY agent
  ON CONFLICT (agent_id) DO NOTHING
)
INSERT INTO audit_log (${logNames.join(', ')}, agent, patients, resources)
SELECT ${logNames.map((n) => `v.${n}`).join(', ')}, v.agent, string_to_array(v.patients, '${SEPARATOR}'), string_to_array(v.resources, '${SEPARATOR}')
  FROM v ORDER BY v.n`;
})();

/** Seconds to wait after an audit write failed: as for a database fault (http/errors.ts). */
const AUDIT_RETRY_AFTER_SECONDS = 5;

/**
 * The audit record of a request could not be stored for a reason other than a lost connection
 * (those keep their own 503, storage/connection-faults.ts). The request is answered 503 without
 * its data: the data may not leave unrecorded, and the client may try again.
 */
export class AuditUnavailableError extends RetryLaterError {
  constructor(cause: unknown) {
    super(
      outcome('unavailable', [issue({ code: 'transient', text: 'The access log could not record this request, so no data is returned. Try again later.' })]),
      AUDIT_RETRY_AFTER_SECONDS
    );
    this.cause = cause;
  }
}

/** SQLSTATE classes the callers handle themselves: 40 (retry the transaction), 57 (cancelled, shutdown). */
function handledElsewhere(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return isConnectionFault(error) || capacityFault(error) !== undefined || (typeof code === 'string' && /^(40|57)/.test(code));
}

export class AuditTrail {
  /** `site`: AuditEvent.source.site of the rendered events. */
  constructor(readonly site: string) {}

  /**
   * Stores the records in one statement, on `db` (the write's transaction, if any). When the log
   * refuses them the request answers 503 and hands out nothing: no data leaves without its record.
   */
  async write(db: Queryable, records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) {
      return;
    }
    const params: unknown[] = [
      records.map(() => newId()),
      records.map((r) => r.recorded.toISOString()),
      ...COLUMNS.map(([, , value]) => records.map(value)),
      records.map((r) => [...r.patients].join(SEPARATOR)),
      records.map((r) => r.entities.join(SEPARATOR)),
    ];
    try {
      await db.query(INSERT_SQL, params);
    } catch (error) {
      if (handledElsewhere(error)) {
        throw error;
      }
      throw new AuditUnavailableError(error);
    }
  }
}
