/**
 * OperationOutcome is the only error shape of the service. Each builder tags its outcome with an
 * `id` from OUTCOME_STATUS so the HTTP layer can map it to a status in one place (http/errors.ts).
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export { OperationOutcomeError };

/** Outcome kinds and the HTTP status each one answers with. */
export const OUTCOME_STATUS = {
  'all-ok': 200,
  created: 201,
  'not-modified': 304,
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  gone: 410,
  'precondition-failed': 412,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  unprocessable: 422,
  'too-many-requests': 429,
  'server-error': 500,
  'not-implemented': 501,
  unavailable: 503,
  'insufficient-storage': 507,
} as const;

export type OutcomeKind = keyof typeof OUTCOME_STATUS;

export type IssueType = OperationOutcomeIssue['code'];

export interface IssueInput {
  severity?: OperationOutcomeIssue['severity'];
  code: IssueType;
  text: string;
  expression?: string | string[];
  diagnostics?: string;
}

export function issue(input: IssueInput): OperationOutcomeIssue {
  const result: OperationOutcomeIssue = {
    severity: input.severity ?? 'error',
    code: input.code,
    details: { text: input.text },
  };
  if (input.expression !== undefined) {
    result.expression = Array.isArray(input.expression) ? input.expression : [input.expression];
  }
  if (input.diagnostics !== undefined) {
    result.diagnostics = input.diagnostics;
  }
  return result;
}

export function outcome(kind: OutcomeKind, issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', id: kind, issue: issues };
}

function fail(kind: OutcomeKind, code: IssueType, text: string, expression?: string | string[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome(kind, [issue({ code, text, expression })]));
}

export const badRequest = (text: string, expression?: string | string[]): OperationOutcomeError =>
  fail('bad-request', 'invalid', text, expression);
export const notSupported = (text: string, expression?: string | string[]): OperationOutcomeError =>
  fail('bad-request', 'not-supported', text, expression);
export const notFound = (text: string): OperationOutcomeError => fail('not-found', 'not-found', text);
export const gone = (text: string): OperationOutcomeError => fail('gone', 'deleted', text);
export const conflict = (text: string, expression?: string | string[]): OperationOutcomeError =>
  fail('conflict', 'conflict', text, expression);
export const businessRuleConflict = (text: string, expression?: string | string[]): OperationOutcomeError =>
  fail('conflict', 'business-rule', text, expression);
export const preconditionFailed = (text: string): OperationOutcomeError => fail('precondition-failed', 'conflict', text);
export const payloadTooLarge = (text: string): OperationOutcomeError => fail('payload-too-large', 'too-costly', text);
export const unsupportedMediaType = (text: string): OperationOutcomeError =>
  fail('unsupported-media-type', 'not-supported', text);
export const notAcceptable = (text: string): OperationOutcomeError => fail('not-acceptable', 'not-supported', text);
export const methodNotAllowed = (text: string): OperationOutcomeError =>
  fail('method-not-allowed', 'not-supported', text);
export const forbidden = (text: string, expression?: string | string[]): OperationOutcomeError =>
  fail('forbidden', 'forbidden', text, expression);
export const serverError = (text: string): OperationOutcomeError => fail('server-error', 'exception', text);

/**
 * A refusal that concerns records the caller may not see: the audit trail records the attempt
 * under `targets` (`Type/id`), so it appears in those patients' access logs (NEN 7513), while the
 * answer itself names none of them.
 */
export class RefusedAccessError extends OperationOutcomeError {
  constructor(
    value: OperationOutcome,
    readonly targets: readonly string[]
  ) {
    super(value);
  }
}

/**
 * A refusal to take on work now, not a fault of the request: 503 with Retry-After (RFC 9110
 * section 10.2.3), so that a client or load balancer tries again later or elsewhere.
 */
export class RetryLaterError extends OperationOutcomeError {
  constructor(
    value: OperationOutcome,
    readonly retryAfterSeconds: number
  ) {
    super(value);
  }
}

/**
 * 503 for shed work. Issue types (https://hl7.org/fhir/R4/valueset-issue-type.html): `transient`
 * (the node is busy), `throttled` (a bound on concurrent work was reached), `too-costly` (this
 * request needed more than one request may use).
 */
export function retryLater(code: 'transient' | 'throttled' | 'too-costly', text: string, retryAfterSeconds: number): RetryLaterError {
  return new RetryLaterError(outcome('unavailable', [issue({ code, text })]), retryAfterSeconds);
}

/** 422: the content is well-formed FHIR JSON but breaks the rules of the resource. */
export function unprocessable(issues: OperationOutcomeIssue[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome('unprocessable', issues));
}

/** 400 with several issues, for syntax problems found in one pass. */
export function badRequestIssues(issues: OperationOutcomeIssue[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome('bad-request', issues));
}

export function allOk(text = 'All OK'): OperationOutcome {
  return outcome('all-ok', [issue({ severity: 'information', code: 'informational', text })]);
}

export function informational(text: string, kind: OutcomeKind = 'all-ok'): OperationOutcome {
  return outcome(kind, [issue({ severity: 'information', code: 'informational', text })]);
}

export function isOperationOutcomeError(error: unknown): error is OperationOutcomeError {
  return error instanceof OperationOutcomeError;
}

/** HTTP status for an outcome; outcomes raised inside @medplum/core carry Medplum's own ids. */
export function statusOf(value: OperationOutcome): number {
  const id = value.id as OutcomeKind | undefined;
  if (id !== undefined && id in OUTCOME_STATUS) {
    return OUTCOME_STATUS[id];
  }
  return getStatus(value);
}

export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}
