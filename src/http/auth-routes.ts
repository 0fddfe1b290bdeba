/**
 * The OAuth side of SMART Backend Services over HTTP: POST /auth/token (form-encoded, answers
 * RFC 6749 JSON with Cache-Control: no-store), GET /auth/jwks (Schakel's public signing keys) and
 * the discovery document at /.well-known/smart-configuration, at the root and below the FHIR base.
 * Every token request, granted or refused, is an AuditEvent (a login, NEN 7513).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { oauthErrorCode } from '../auth/oauth-errors.js';
import type { AuthService } from '../auth/service.js';
import { auditRecord } from '../audit/audit-record.js';
import { commitAuditRecord, type AuditCommit } from '../audit/audit-commit.js';
import { isOperationOutcomeError, statusOf } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import type { FormBody } from './body-parsers.js';

export interface AuthRoutesOptions {
  readonly auth: AuthService;
  readonly db: Queryable;
  readonly auditCommit: AuditCommit;
  readonly basePath: string;
  readonly publicBaseUrl: string | undefined;
}

function origin(request: FastifyRequest, publicBaseUrl: string | undefined): string {
  return publicBaseUrl ? new URL(publicBaseUrl).origin : `${request.protocol}://${request.host}`;
}

export function registerAuthRoutes(app: FastifyInstance, options: AuthRoutesOptions): void {
  const { auth } = options;

  app.post('/auth/token', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const body = request.body as FormBody | undefined;
    if (!body || !Array.isArray(body.form)) {
      return reply.code(400).send({ error: 'invalid_request', error_description: 'Send the token request form-encoded' });
    }
    const form: Record<string, string> = {};
    for (const [key, value] of body.form as ReadonlyArray<readonly [string, string]>) {
      if (key in form) {
        // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
        return reply.code(400).send({ error: 'invalid_request', error_description: `${key} is given twice` });
      }
      form[key] = value;
    }
    const record = auditRecord({ event: 'login', action: 'E', principal: undefined, address: request.ip, requestId: request.id });
    try {
      const { answer, principal } = await auth.token(options.db, form, auth.tokenUrls(origin(request, options.publicBaseUrl)));
      await commitAuditRecord(options.auditCommit, { ...record, principal, status: 200 });
      return reply.code(200).send(answer);
    } catch (error) {
      const code = isOperationOutcomeError(error) ? oauthErrorCode(error.outcome) : undefined;
      if (!isOperationOutcomeError(error) || code === undefined) {
        throw error;
      }
      const status = statusOf(error.outcome);
      await commitAuditRecord(options.auditCommit, { ...record, status, failure: code });
      return reply.code(status).send({ error: code, error_description: error.outcome.issue?.[0]?.details?.text ?? code });
    }
  });

  app.get('/auth/jwks', async () => auth.jwks());
  const discovery = async (): Promise<Record<string, unknown>> => auth.smartConfiguration();
  app.get('/.well-known/smart-configuration', discovery);
  app.get(`${options.basePath}/.well-known/smart-configuration`, discovery);
}
