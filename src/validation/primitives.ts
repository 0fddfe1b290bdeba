/**
 * Corrections to the primitive-format rules of @medplum/core's validator, applied once at start.
 * @medplum/core checks each primitive against a regular expression (`validationRegexes`, exported
 * and shared by every validation in the process); where that expression disagrees with the R4
 * datatype definitions it is replaced here, with the reason.
 */
import { validationRegexes } from '@medplum/core';

/**
 * base64Binary: https://hl7.org/fhir/R4/datatypes.html#base64Binary allows whitespace between the
 * characters (`(\s*([0-9a-zA-Z\+\=]){4}\s*)+`; the R4 regex forgot `/`, fixed in R4B), and the
 * official Binary example uses it, but @medplum/core refuses any whitespace. This expression keeps
 * R4's whitespace and R4B's alphabet, and still demands complete 4-character groups with padding
 * only at the end. Character classes are disjoint, so it runs in linear time on large payloads.
 */
const BASE64_WITH_WHITESPACE =
  /^(?:(?:\s*[A-Za-z\d+/]){4})*(?:(?:\s*[A-Za-z\d+/]){2}\s*=\s*=|(?:\s*[A-Za-z\d+/]){3}\s*=)?\s*$/;

let applied = false;

export function applyPrimitiveCorrections(): void {
  if (applied) {
    return;
  }
  validationRegexes['base64Binary'] = BASE64_WITH_WHITESPACE;
  applied = true;
}
