/** The Prefer header (RFC 7240) as FHIR uses it: return=… and handling=… */
import type { Prefer } from '../fhir/request.js';

export function parsePrefer(header: string | string[] | undefined): Prefer {
  const values = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(/[,;]/);
  let ret: Prefer['return'];
  let handling: Prefer['handling'];
  let respondAsync = false;
  for (const raw of values) {
    const [name, value] = raw.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (name === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) {
      ret = value;
    } else if (name === 'respond-async' && value === undefined) {
      respondAsync = true;
    } else if (name === 'handling' && (value === 'strict' || value === 'lenient')) {
      handling = value;
    }
  }
  return { ...(ret ? { return: ret } : {}), ...(handling ? { handling } : {}), ...(respondAsync ? { respondAsync } : {}) };
}
