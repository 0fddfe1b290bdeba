/** The narrative div (type xhtml) in both formats. */
import { XHTML_NS } from './read-xml.js';

/**
 * The JSON form of a div carries its namespace on the div itself (https://hl7.org/fhir/R4/narrative.html);
 * an XML div may inherit it instead.
 */
export function withXhtmlNamespace(div: string): string {
  const end = div.search(/\/?>/);
  const tag = end === -1 ? div : div.slice(0, end);
  return /\sxmlns\s*=/.test(tag) ? div : `<div xmlns="${XHTML_NS}"${div.slice(4)}`;
}
