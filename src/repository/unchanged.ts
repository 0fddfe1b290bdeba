/**
 * Whether an update changes nothing: the content a client sends equals the current version's but
 * for meta.versionId and meta.lastUpdated, which belong to the server
 * (https://hl7.org/fhir/R4/resource.html#Meta). Everything else is content, narrative included: a
 * new Resource.text is a new statement of the resource (narrative.html), and meta.tag, meta.profile
 * and meta.security change how it is handled. Object keys compare regardless of order (JSON objects
 * are unordered); arrays compare in order (FHIR repetitions are ordered). Decimals compare as
 * written: 1.50 is not 1.5 (https://hl7.org/fhir/R4/datatypes.html#decimal).
 */
import type { Resource } from '@medplum/fhirtypes';
import { sameDecimalText } from '../fhir/decimal-text.js';
import { parseStoredJson } from '../fhir/json-parse.js';

function equalJson(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => equalJson(item, b[i]) && sameDecimalText(a, b, i));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((k) => left[k] !== undefined);
  if (keys.length !== Object.keys(right).filter((k) => right[k] !== undefined).length) {
    return false;
  }
  return keys.every((k) => Object.hasOwn(right, k) && equalJson(left[k], right[k]) && sameDecimalText(left, right, k));
}

function content(resource: Resource): Record<string, unknown> {
  const { meta, ...rest } = resource;
  if (meta === undefined) {
    return rest;
  }
  const { versionId: _v, lastUpdated: _l, ...kept } = meta;
  return Object.keys(kept).length > 0 ? { ...rest, meta: kept } : rest;
}

/** True when `next` would store the same resource as the stored JSON of the current version. */
export function isUnchanged(storedJson: string | undefined, next: Resource): boolean {
  if (storedJson === undefined) {
    return false;
  }
  return equalJson(content(parseStoredJson<Resource>(storedJson)), content(next));
}
