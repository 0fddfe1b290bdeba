/**
 * The public conformance corpora in ../shared/conformance (beside the clone in CI and in a
 * developer's workplace), posted to $validate through HTTP.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverPrincipal } from '../../src/auth/principal.js';
import { tokenFor } from '../helpers/auth.js';
import type { FastifyInstance } from 'fastify';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** CONFORMANCE_DIR points elsewhere, e.g. from a git worktree that has no shared/ beside it. */
export const CORPUS_DIR = process.env['CONFORMANCE_DIR'] ?? join(REPOSITORY_ROOT, '..', 'shared', 'conformance');

/** Why the corpus tests are skipped, or undefined when the corpus is there. */
export function corpusMissing(folder: string): string | undefined {
  return existsSync(join(CORPUS_DIR, folder))
    ? undefined
    : `conformance corpus ${join(CORPUS_DIR, folder)} is absent (CI places shared/ beside the clone)`;
}

export interface ValidateAnswer {
  readonly status: number;
  /** Error and fatal issues as [code, first expression]; a 4xx counts as one error. */
  readonly errors: Array<[string, string | undefined]>;
}

const tokens = new WeakMap<FastifyInstance, Promise<string>>();

/** Every type, the audit log included, may be validated: a token with every scope. */
function corpusAuthorization(app: FastifyInstance): Promise<string> {
  let token = tokens.get(app);
  if (!token) {
    token = tokenFor(app, serverPrincipal('conformance')).then((value) => `Bearer ${value}`);
    tokens.set(app, token);
  }
  return token;
}

/** Posts the raw bytes of a corpus file to [type]/$validate. */
export async function validateFile(app: FastifyInstance, file: string, resourceType: string): Promise<ValidateAnswer> {
  const response = await app.inject({
    method: 'POST',
    url: `/fhir/${resourceType}/$validate`,
    headers: { 'content-type': 'application/fhir+json', authorization: await corpusAuthorization(app) },
    payload: readFileSync(file),
  });
  const body = response.json<{ issue?: Array<{ severity: string; code: string; expression?: string[] }> }>();
  const errors = (body.issue ?? [])
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i): [string, string | undefined] => [i.code, i.expression?.[0]]);
  return { status: response.statusCode, errors };
}

/** The resourceType of a JSON file, when it parses at all. */
export function resourceTypeOf(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { resourceType?: string }).resourceType;
  } catch {
    return undefined;
  }
}
