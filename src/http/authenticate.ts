/**
 * The protected scope's onRequest hook (step 2 of the request flow: authenticate, then authorize, dispatch, audit): bearer token ->
 * request.principal, or 401 with WWW-Authenticate (RFC 6750 §3) and an AuditEvent for the failed
 * login. The CapabilityStatement stays public (SMART discovery).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { AuthService } from '../auth/service.js';
import { auditRecord } from '../audit/audit-record.js';
import { commitAuditRecord, type AuditCommit } from '../audit/audit-commit.js';
import { isOperationOutcomeError } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, set by the authentication hook. */
    principal?: Principal;
  }
}

export interface AuthenticateOptions {
  readonly auth: AuthService;
  readonly db: Queryable;
  /** Failed logins are recorded with the group commit of audit records; 503 if that fails. */
  readonly auditCommit: AuditCommit;
  readonly basePath: string;
}

function isPublic(request: FastifyRequest, basePath: string): boolean {
  const path = (request.raw.url ?? '').split('?')[0] ?? '';
  return request.method === 'GET' && (path === `${basePath}/metadata` || path === `${basePath}/metadata/`);
}

export function registerAuthentication(scope: FastifyInstance, options: AuthenticateOptions): void {
  scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isPublic(request, options.basePath)) {
      return;
    }
    const header = request.headers.authorization;
    try {
      request.principal = await options.auth.authenticate(options.db, header);
    } catch (error) {
      if (isOperationOutcomeError(error) && error.outcome.id === 'unauthorized') {
        reply.header('www-authenticate', header === undefined ? 'Bearer realm="schakel"' : 'Bearer realm="schakel", error="invalid_token"');
        const record = auditRecord({ event: 'login', action: 'E', principal: undefined, address: request.ip, requestId: request.id });
        record.status = 401;
        record.failure = error.outcome.issue?.[0]?.code ?? 'security';
        await commitAuditRecord(options.auditCommit, record);
      }
      throw error;
    }
  });
}
