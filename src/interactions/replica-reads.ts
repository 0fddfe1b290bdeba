/**
 * Which interactions may read from a read replica (storage/read-routing.ts), and the note of a
 * client's write that keeps its next reads consistent with it.
 *
 * Only the plain reads of the RESTful API go to the replica: read, vread, history and search.
 * Operations stay on the primary, $everything included: an operation's handler may use its
 * repository as it needs, and whether it writes is its own affair, not something dispatch can see
 * before it runs; one simple rule is worth more than the share of reads operations make. Writes,
 * transaction Bundles and anything inside a transaction use the primary, and so does every audit
 * row (dispatch writes them on `ctx.repo`, never on the reader).
 */
import type { Principal } from '../auth/principal.js';
import type { FhirRequest, InteractionCode } from '../fhir/request.js';
import type { FhirContext } from './context.js';

const REPLICA_READS: ReadonlySet<InteractionCode> = new Set([
  'read',
  'vread',
  'history-instance',
  'history-type',
  'history-system',
  'search-type',
  'search-system',
  'search-compartment',
]);

/**
 * Whose writes a read must see: the client system (per issuer), not the single user, so that two
 * users or a user and a background job of one system read each other's writes too.
 */
function clientOf(principal: Principal): string {
  return `${principal.issuer ?? ''} ${principal.clientId}`;
}

/** `scoped` with its repository reading from the replica, when this read may and the replica can. */
export async function onReadReplica(ctx: FhirContext, scoped: FhirContext, request: FhirRequest): Promise<FhirContext> {
  if (ctx.reads === undefined || ctx.principal === undefined || ctx.auditBuffer !== undefined || ctx.repo.inTransaction || !REPLICA_READS.has(request.interaction)) {
    return scoped;
  }
  const reader = await ctx.reads.readerFor(clientOf(ctx.principal));
  return { ...scoped, repo: scoped.repo.readingFrom(reader) };
}

/** After a write committed (never inside an open transaction, whose commit is still to come). */
export async function noteCommittedWrite(ctx: FhirContext): Promise<void> {
  if (ctx.reads !== undefined && ctx.principal !== undefined && ctx.auditBuffer === undefined && !ctx.repo.inTransaction) {
    await ctx.reads.wrote(clientOf(ctx.principal));
  }
}
