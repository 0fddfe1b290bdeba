/**
 * Where a QuestionnaireResponse issue is. Every issue carries two FHIRPath expressions
 * (OperationOutcome.issue.expression allows several, https://hl7.org/fhir/R4/operationoutcome.html):
 *   1. the element by position, as all other validation issues do: `QuestionnaireResponse.item[2].answer[0]`;
 *   2. the same element by linkId, so that a client can tell which question without counting:
 *      `QuestionnaireResponse.item.where(linkId='pdi-3').answer[0]`.
 * An item that is missing (a required question without an item) has no position: the first
 * expression is its parent and the second names where it should be,
 * `QuestionnaireResponse.item.where(linkId='nrs-pijn')`.
 */

export interface ItemLocation {
  /** Path by position. */
  readonly path: string;
  /** Path by linkId. */
  readonly linkPath: string;
}

export const RESPONSE_ROOT: ItemLocation = { path: 'QuestionnaireResponse', linkPath: 'QuestionnaireResponse' };

/** A FHIRPath string literal (https://hl7.org/fhirpath/N1/#string). */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The item at `index` below `parent`; `occurrence` counts earlier siblings with the same linkId
 * (only repeating groups have more than one).
 */
export function itemLocation(parent: ItemLocation, index: number, linkId: string, occurrence = 0, repeated = false): ItemLocation {
  const byLink = `${parent.linkPath}.item.where(linkId=${literal(linkId)})`;
  return { path: `${parent.path}.item[${index}]`, linkPath: repeated ? `${byLink}[${occurrence}]` : byLink };
}

export function answerLocation(item: ItemLocation, index: number): ItemLocation {
  return { path: `${item.path}.answer[${index}]`, linkPath: `${item.linkPath}.answer[${index}]` };
}

/** A location one element further (`.valueInteger`), on both paths. */
export function elementLocation(at: ItemLocation, element: string): ItemLocation {
  return { path: `${at.path}.${element}`, linkPath: `${at.linkPath}.${element}` };
}

/** The expressions of an issue at a location. */
export function expressions(at: ItemLocation): string[] {
  return at.path === at.linkPath ? [at.path] : [at.path, at.linkPath];
}

/** The expressions of an item that is missing below `parent`. */
export function missingExpressions(parent: ItemLocation, linkId: string): string[] {
  return [parent.path, `${parent.linkPath}.item.where(linkId=${literal(linkId)})`];
}
