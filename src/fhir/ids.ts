import { randomUUID } from 'node:crypto';

/** R4 id datatype: https://hl7.org/fhir/R4/datatypes.html#id */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** Server-assigned logical id. */
export function newId(): string {
  return randomUUID();
}

/** Weak ETag of a version: https://hl7.org/fhir/R4/http.html#versioning */
export function etagOf(versionId: number | string): string {
  return `W/"${versionId}"`;
}

/** Version number from an ETag (`W/"3"`, `"3"` or `3`), or undefined when it is not one. */
export function versionFromEtag(value: string): number | undefined {
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}
