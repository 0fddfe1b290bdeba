/**
 * The Bulk Data status and file URLs (bulk-export/export-status.ts): `[base]/_export/{job}` (GET:
 * status or manifest, DELETE: cancel) and `[base]/_export/{job}/{output|error}/{Type}.ndjson`.
 * Registered inside the protected scope: they need the same kind of bearer token as the
 * kick-off ("requiresAccessToken": true), and only the requester gets an answer.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cancelExport, exportFileContent, exportStatus, RETRY_AFTER_SECONDS } from '../bulk-export/export-status.js';
import type { Principal } from '../auth/principal.js';
import { commitAuditRecord, type AuditCommit } from '../audit/audit-commit.js';
import { auditRecord } from '../audit/audit-record.js';
import { serverError } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import { fhirBaseUrl } from './fhir-routes.js';
import { FHIR_JSON } from './negotiation.js';

export interface ExportRoutesOptions {
  readonly basePath: string;
  readonly publicBaseUrl: string | undefined;
  /** The primary: a job's progress is read where the runner writes it. */
  readonly db: Queryable;
  /** Each file handed out is recorded in the audit trail (who, which job, which type). */
  readonly auditCommit: AuditCommit;
}

interface JobParams {
  job: string;
}

interface FileParams extends JobParams {
  kind: string;
  file: string;
}

function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) {
    throw serverError('An export route was reached without a principal');
  }
  return request.principal;
}

export function registerExportRoutes(app: FastifyInstance, options: ExportRoutesOptions): void {
  const { basePath, db } = options;

  app.get<{ Params: JobParams }>(`${basePath}/_export/:job`, async (request, reply): Promise<FastifyReply> => {
    const answer = await exportStatus(db, request.params.job, principalOf(request), fhirBaseUrl(request, basePath, options.publicBaseUrl));
    switch (answer.state) {
      case 'in-progress':
        return reply.code(202).header('x-progress', answer.progress).header('retry-after', String(RETRY_AFTER_SECONDS)).send();
      case 'failed':
        return reply.code(500).header('content-type', `${FHIR_JSON}; charset=utf-8`).send(JSON.stringify(answer.outcome));
      case 'complete':
        // The manifest is plain JSON, not a FHIR resource (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status).
        return reply.code(200).header('content-type', 'application/json; charset=utf-8').header('expires', '0').send(JSON.stringify(answer.manifest));
    }
  });

  app.delete<{ Params: JobParams }>(`${basePath}/_export/:job`, async (request, reply): Promise<FastifyReply> => {
    await cancelExport(db, request.params.job, principalOf(request));
    return reply.code(202).send();
  });

  app.get<{ Params: FileParams }>(`${basePath}/_export/:job/:kind/:file`, async (request, reply): Promise<FastifyReply> => {
    const principal = principalOf(request);
    const parts = await exportFileContent(db, request.params.job, principal, request.params.kind, request.params.file);
    // Before the first byte: no file leaves without its record (as reads, interactions/dispatch.ts).
    // The job id and the file name are no patient data; which patients the kick-off concerned is in its own record.
    const record = auditRecord({
      event: 'operation',
      action: 'R',
      principal,
      address: request.ip,
      requestId: request.id,
      operation: 'export',
      resourceType: request.params.file.replace(/\.ndjson$/, ''),
    });
    record.status = 200;
    record.query = `job=${request.params.job}&file=${request.params.kind}/${request.params.file}`;
    await commitAuditRecord(options.auditCommit, record);
    reply.header('content-type', 'application/fhir+ndjson');
    return reply.code(200).send(Readable.from(parts));
  });
}
