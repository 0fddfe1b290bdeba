/** Assertions on OperationOutcome responses: status, issue code and expression, never message text. */
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';

interface Issue {
  severity: string;
  code: string;
  details?: { text?: string };
  expression?: string[];
}

export function issuesOf(response: LightMyRequestResponse): Issue[] {
  const body = response.json();
  return body.resourceType === 'OperationOutcome' ? (body.issue as Issue[]) : [];
}

/** The response has `status` and an error issue with `code` at exactly `expression`. */
export function assertIssue(t: Test, response: LightMyRequestResponse, status: number, code: string, expression?: string): void {
  t.equal(response.statusCode, status, `status ${status}`);
  const issues = issuesOf(response);
  const found = issues.some(
    (i) =>
      (i.severity === 'error' || i.severity === 'fatal') &&
      i.code === code &&
      (expression === undefined || (i.expression ?? []).includes(expression))
  );
  t.ok(found, `an error "${code}" at ${expression ?? '(any)'}; got ${JSON.stringify(issues.map((i) => [i.severity, i.code, i.expression]))}`);
}
