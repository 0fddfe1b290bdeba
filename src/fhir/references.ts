/**
 * Reference strings: https://hl7.org/fhir/R4/references.html#Reference
 */

export interface LocalReference {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId?: string;
}

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** A canonical reference `url|version` in its parts (https://hl7.org/fhir/R4/references.html#canonical). */
export function splitCanonical(canonical: string): { url: string; version: string | undefined } {
  const bar = canonical.indexOf('|');
  return bar === -1 ? { url: canonical, version: undefined } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) };
}

/**
 * Parses `Type/id`, `Type/id/_history/v`, or an absolute URL on this server's base, into a local
 * reference. Anything else (contained `#id`, `urn:uuid:`, another server, a search URL) is not local.
 */
export function parseLocalReference(reference: string, baseUrl?: string): LocalReference | undefined {
  let value = reference;
  if (baseUrl && value.startsWith(baseUrl + '/')) {
    value = value.slice(baseUrl.length + 1);
  }
  const match = RELATIVE.exec(value);
  if (!match) {
    return undefined;
  }
  const [, resourceType, id, versionId] = match as unknown as [string, string, string, string | undefined];
  return versionId === undefined ? { resourceType, id } : { resourceType, id, versionId };
}

/**
 * Every `reference` string in a resource, with its JSON path. Contained resources are walked too;
 * a reference inside a contained resource still points out of the container.
 */
export function collectReferences(value: unknown, path: string, out: Array<{ reference: string; path: string }> = []) {
  if (Array.isArray(value)) {
    value.forEach((item, i) => collectReferences(item, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') {
        out.push({ reference: child, path });
      } else if (typeof child === 'object') {
        collectReferences(child, `${path}.${key}`, out);
      }
    }
  }
  return out;
}
