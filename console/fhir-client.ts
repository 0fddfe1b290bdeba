/**
 * The console's only way to the server: the FHIR REST API with the user's bearer token
 * (session.ts), JSON in and out. A failure becomes a FhirError carrying the OperationOutcome's
 * first diagnostic text, shown to the user as is.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { fhirBase } from './smart/launch.js';
import { currentSession } from './smart/session.js';

export type { Bundle };

export class FhirError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

function outcomeText(body: unknown, status: number): string {
  const issue = (body as { issue?: Array<{ details?: { text?: string }; diagnostics?: string }> } | undefined)?.issue?.[0];
  return issue?.details?.text ?? issue?.diagnostics ?? `HTTP ${status}`;
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH';
  readonly body?: unknown;
  readonly contentType?: string;
  readonly ifMatch?: string;
}

export async function fhir<T = Resource>(path: string, options: RequestOptions = {}): Promise<T> {
  const session = currentSession();
  if (session === undefined) {
    throw new FhirError(401, 'Niet aangemeld');
  }
  const headers: Record<string, string> = { accept: 'application/fhir+json', authorization: `Bearer ${session.accessToken}` };
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/fhir+json';
  }
  if (options.ifMatch !== undefined) {
    headers['if-match'] = options.ifMatch;
  }
  const response = await fetch(`${fhirBase()}/${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const body: unknown = response.status === 204 ? {} : await response.json().catch(() => undefined);
  if (!response.ok) {
    throw new FhirError(response.status, outcomeText(body, response.status));
  }
  return body as T;
}

/** The resources of a searchset Bundle: matches and includes, each of one type. */
export function resources<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r !== undefined && r.resourceType === type);
}

export function search(type: string, params: Record<string, string | string[]>): Promise<Bundle> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      query.append(name, v);
    }
  }
  return fhir<Bundle>(`${type}?${query.toString()}`);
}
