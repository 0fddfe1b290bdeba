/**
 * The rules of Narrative.div (https://hl7.org/fhir/R4/narrative.html#rules, invariants txt-1 and
 * txt-2, whose FHIRPath is `htmlChecks()`; @medplum/core stubs that function to true). The XHTML
 * is parsed by a conforming XML parser (saxes): it must be well-formed, use only XML's own
 * entities, have a `div` root in the XHTML namespace, hold only the HTML 4.0 elements and
 * attributes the spec allows (no scripts, forms, frames or event handlers) and some content.
 */
import { SaxesParser } from 'saxes';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

const XHTML = 'http://www.w3.org/1999/xhtml';

/** HTML 4.0 chapters 7-11 and 15, less section 9.4 (the same list the HL7 Java validator uses). */
const ELEMENTS = new Set(
  (
    'p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite ' +
    'blockquote hr address bdo kbd samp sub sup code ul ol li dl dt dd pre table caption colgroup ' +
    'col thead tbody tfoot tr th td img map area ins del u s strike font center'
  ).split(' ')
);

const COMMON_ATTRIBUTES = new Set(
  'title style class id lang xml:lang dir accesskey tabindex xmlns xmlns:xhtml'.split(' ')
);

const ELEMENT_ATTRIBUTES: Record<string, readonly string[]> = {
  a: ['href', 'name', 'type', 'hreflang', 'rel', 'rev', 'charset', 'shape', 'coords'],
  img: ['src', 'alt', 'width', 'height', 'border', 'align', 'hspace', 'vspace', 'usemap', 'ismap', 'longdesc'],
  area: ['href', 'alt', 'shape', 'coords', 'nohref'],
  map: ['name'],
  blockquote: ['cite'],
  q: ['cite'],
  ins: ['cite', 'datetime'],
  del: ['cite', 'datetime'],
  ol: ['type', 'start', 'compact'],
  ul: ['type', 'compact'],
  li: ['type', 'value'],
  font: ['size', 'color', 'face'],
  pre: ['width'],
  br: ['clear'],
  hr: ['align', 'noshade', 'size', 'width'],
  table: ['summary', 'width', 'border', 'frame', 'rules', 'cellspacing', 'cellpadding', 'align', 'bgcolor'],
  caption: ['align'],
  colgroup: ['span', 'width', 'align', 'char', 'charoff', 'valign'],
  col: ['span', 'width', 'align', 'char', 'charoff', 'valign'],
  thead: ['align', 'char', 'charoff', 'valign'],
  tbody: ['align', 'char', 'charoff', 'valign'],
  tfoot: ['align', 'char', 'charoff', 'valign'],
  tr: ['align', 'char', 'charoff', 'valign', 'bgcolor'],
  th: ['abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan', 'align', 'char', 'charoff', 'valign', 'nowrap', 'bgcolor', 'width', 'height'],
  td: ['abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan', 'align', 'char', 'charoff', 'valign', 'nowrap', 'bgcolor', 'width', 'height'],
  div: ['align'],
  p: ['align'],
  h1: ['align'],
  h2: ['align'],
  h3: ['align'],
  h4: ['align'],
  h5: ['align'],
  h6: ['align'],
};

function allowedAttribute(element: string, attribute: string): boolean {
  return COMMON_ATTRIBUTES.has(attribute) || attribute.startsWith('xmlns:') || (ELEMENT_ATTRIBUTES[element]?.includes(attribute) ?? false);
}

/** Issues of one Narrative.div value at `expression`; none when it is absent. */
export function narrativeIssues(div: unknown, expression: string): OperationOutcomeIssue[] {
  if (typeof div !== 'string') {
    return [];
  }
  const problems: string[] = [];
  let depth = 0;
  let content = false;
  let root: { name: string; uri: string } | undefined;
  const parser = new SaxesParser({ xmlns: true, fragment: false });
  parser.on('doctype', () => problems.push('A DOCTYPE is not allowed in narrative'));
  parser.on('processinginstruction', () => problems.push('Processing instructions are not allowed in narrative'));
  parser.on('opentag', (tag) => {
    if (depth === 0) {
      root = { name: tag.local, uri: tag.uri };
    }
    depth++;
    if (tag.uri !== XHTML) {
      problems.push(`Element <${tag.name}> is not in the XHTML namespace`);
    } else if (!ELEMENTS.has(tag.local)) {
      problems.push(`Element <${tag.local}> is not allowed in narrative (txt-1)`);
    }
    if (tag.local === 'img') {
      content = true;
    }
    for (const attribute of Object.values(tag.attributes)) {
      if (!allowedAttribute(tag.local, attribute.name)) {
        problems.push(`Attribute ${attribute.name} is not allowed on <${tag.local}> (txt-1)`);
      }
    }
  });
  parser.on('closetag', () => {
    depth--;
  });
  parser.on('text', (text) => {
    if (text.trim() !== '') {
      content = true;
    }
  });
  try {
    parser.write(div).close();
  } catch (error) {
    problems.push(`Narrative is not well-formed XHTML: ${error instanceof Error ? error.message.split('\n')[0] : 'parse error'}`);
  }
  if (problems.length === 0 && (root?.name !== 'div' || root.uri !== XHTML)) {
    problems.push('Narrative must be a single <div> in the XHTML namespace');
  }
  if (problems.length === 0 && !content) {
    problems.push('Narrative must have some non-whitespace content (txt-2)');
  }
  return [...new Set(problems)].map((text) => issue({ code: 'invariant', text, expression }));
}
