/**
 * Issue expressions name elements by their JSON property, as the request body does:
 * `Observation.effectivePeriod.start`, `Patient.name[0].given[0]`. @medplum/core's crawler names a
 * choice element `effective[x]`; this resolves each such segment against the resource to the
 * property actually present (https://hl7.org/fhir/R4/formats.html#choice), or to its bare name
 * (`Observation.effective`) when none is.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

const SEGMENT = /([A-Za-z_][A-Za-z0-9_]*)(\[x\])?((?:\[\d+\])*)/y;

function resolve(expression: string, resource: unknown): string {
  if (!expression.includes('[x]')) {
    return expression;
  }
  let current: unknown = resource;
  let out = '';
  let pos = 0;
  let first = true;
  while (pos < expression.length) {
    if (expression[pos] === '.') {
      out += '.';
      pos++;
    }
    SEGMENT.lastIndex = pos;
    const match = SEGMENT.exec(expression);
    if (!match) {
      return out + expression.slice(pos);
    }
    pos = SEGMENT.lastIndex;
    const [, name, choice, indexes] = match as unknown as [string, string, string | undefined, string];
    if (first) {
      // The root: the resource type itself.
      first = false;
      out += name + indexes;
      continue;
    }
    const object = current !== null && typeof current === 'object' ? (current as Record<string, unknown>) : {};
    let key = name;
    if (choice) {
      key = Object.keys(object).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length))) ?? name;
    }
    out += key + indexes;
    current = object[key];
    for (const index of indexes.match(/\d+/g) ?? []) {
      current = Array.isArray(current) ? current[Number(index)] : undefined;
    }
  }
  return out;
}

/** The issues with every `name[x]` segment of their expressions resolved against the resource. */
export function withJsonExpressions(issues: OperationOutcomeIssue[], resource: unknown): OperationOutcomeIssue[] {
  for (const i of issues) {
    if (i.expression) {
      i.expression = i.expression.map((e) => resolve(e, resource));
    }
  }
  return issues;
}
