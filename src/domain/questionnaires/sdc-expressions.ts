/**
 * SDC expressions of a Questionnaire (https://hl7.org/fhir/uv/sdc/expressions.html), evaluated
 * with @medplum/core's FHIRPath engine, which implements R4's FHIRPath (N1): no `sum()` and no
 * `aggregate()`, so totals are written with `+`. Supported: the `variable` extension on the
 * Questionnaire root and on items (text/fhirpath only, in document order, each seeing the
 * variables before it and those of its ancestors), an item's `calculatedExpression` and its
 * `initialExpression`. The context is SDC's: %resource is the QuestionnaireResponse,
 * %questionnaire the Questionnaire, %context (and the focus) the response item the expression
 * belongs to (the response itself at the root). Launch contexts (%patient, %user...) are not
 * known to a server receiving a completed response: an expression that needs one is left
 * unevaluated, never guessed. A variable is bound only when it evaluates to exactly one value
 * (@medplum/core binds one value per variable); an expression using an unbound one is not
 * evaluated either.
 */
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Expression, Extension, Questionnaire, QuestionnaireItem, QuestionnaireResponse } from '@medplum/fhirtypes';

const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';
export const VARIABLE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/variable';
export const CALCULATED_EXPRESSION = `${SDC}/sdc-questionnaire-calculatedExpression`;
export const INITIAL_EXPRESSION = `${SDC}/sdc-questionnaire-initialExpression`;

/** The variables in scope, keyed with their `%` as @medplum/core looks them up. */
export type Variables = Readonly<Record<string, TypedValue>>;

export type Evaluation = { readonly ok: true; readonly values: TypedValue[] } | { readonly ok: false; readonly reason: string };

/** The FHIRPath Expression of an item extension, when it has one. */
export function fhirPathOf(element: { extension?: Extension[] }, url: string): string | undefined {
  const expression: Expression | undefined = element.extension?.find((e) => e.url === url)?.valueExpression;
  return expression?.language === 'text/fhirpath' && expression.expression ? expression.expression : undefined;
}

/** Whether a Questionnaire uses any expression this module evaluates (most do not: they skip all of it). */
export function hasSdcExpressions(questionnaire: Questionnaire): boolean {
  const urls = [VARIABLE_EXTENSION, CALCULATED_EXPRESSION, INITIAL_EXPRESSION];
  const uses = (element: { extension?: Extension[]; item?: QuestionnaireItem[] }): boolean =>
    (element.extension ?? []).some((e) => urls.includes(e.url)) || (element.item ?? []).some(uses);
  return uses(questionnaire);
}

/** The base variables of an evaluation: %resource and %questionnaire. */
export function baseVariables(response: QuestionnaireResponse, questionnaire: Questionnaire): Variables {
  return { '%resource': toTypedValue(response), '%questionnaire': toTypedValue(questionnaire) };
}

/** Evaluates one expression on `context` (a response item, or the response itself). */
export function evaluate(expression: string, context: object, variables: Variables): Evaluation {
  const focus = toTypedValue(context);
  try {
    return { ok: true, values: evalFhirPathTyped(expression, [focus], { ...variables, '%context': focus }) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * The variables an element (the Questionnaire or an item) adds to `outer`, evaluated on its
 * response `context`. A variable that cannot be evaluated stays undefined, so expressions that
 * use it fail in turn instead of computing with a wrong value.
 */
export function withVariables(element: { extension?: Extension[] }, context: object, outer: Variables): Variables {
  let variables = outer;
  for (const extension of element.extension ?? []) {
    const expression = extension.url === VARIABLE_EXTENSION ? extension.valueExpression : undefined;
    if (!expression?.name || expression.language !== 'text/fhirpath' || !expression.expression) {
      continue;
    }
    // @medplum/core binds a variable to exactly one value: an empty or many-valued result stays
    // unbound, and expressions that use it are not evaluated (documented in the module comment).
    const result = evaluate(expression.expression, context, variables);
    const [value, ...more] = result.ok ? result.values : [];
    if (value !== undefined && more.length === 0) {
      variables = { ...variables, [`%${expression.name}`]: value };
    }
  }
  return variables;
}
