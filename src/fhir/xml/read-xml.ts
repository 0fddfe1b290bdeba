/**
 * XML text -> a small element tree, tokenised by saxes (a conformant, namespace-aware parser).
 * A document type declaration is refused outright: FHIR XML never needs one
 * (https://hl7.org/fhir/R4/xml.html), and refusing it is what keeps external entities (XXE) and
 * entity expansion bombs out (https://hl7.org/fhir/R4/security.html#xml). Only the five predefined
 * entities and character references remain, which saxes resolves itself.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttribute {
  readonly local: string;
  readonly uri: string;
  readonly value: string;
}

export interface XmlElement {
  readonly local: string;
  readonly uri: string;
  readonly prefix: string;
  /** Attributes other than namespace declarations. */
  readonly attributes: readonly XmlAttribute[];
  readonly children: XmlElement[];
  /** Whether character data other than whitespace appears directly inside. */
  hasText: boolean;
  /** For XHTML elements: the element as written, from `<` to its closing `>`. */
  raw?: string;
}

/** Why a text is not acceptable XML; the caller turns it into an OperationOutcome. */
export class XmlSyntaxError extends Error {}

interface OpenElement {
  readonly element: XmlElement;
  readonly start: number;
}

export interface ReadXmlOptions {
  /** Deepest nesting of FHIR elements accepted (XHTML content is kept as text and not counted). */
  readonly maxDepth: number;
}

function toElement(tag: SaxesTagNS): XmlElement {
  const attributes: XmlAttribute[] = [];
  for (const attribute of Object.values(tag.attributes)) {
    if (attribute.uri !== XMLNS_NS) {
      attributes.push({ local: attribute.local, uri: attribute.uri, value: attribute.value });
    }
  }
  return { local: tag.local, uri: tag.uri, prefix: tag.prefix, attributes, children: [], hasText: false };
}

/** Parses a complete XML document into its root element; throws XmlSyntaxError when it is not well-formed. */
export function readXml(text: string, options: ReadXmlOptions): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;
  // Inside an XHTML subtree nothing is built: the subtree is kept as written (see `raw`).
  let xhtmlDepth = 0;
  let failure: XmlSyntaxError | undefined;

  parser.on('error', (error) => {
    failure ??= new XmlSyntaxError(error.message);
    throw failure;
  });
  parser.on('doctype', () => {
    failure ??= new XmlSyntaxError('A document type declaration (DOCTYPE) is not allowed in FHIR XML');
    throw failure;
  });
  parser.on('opentag', (tag) => {
    if (xhtmlDepth > 0) {
      xhtmlDepth++;
      return;
    }
    const element = toElement(tag);
    // The tag's `<` is the last one before the parser's position (names and attributes hold none).
    const start = text.lastIndexOf('<', parser.position - 1);
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.element.children.push(element);
    } else {
      root = element;
    }
    if (tag.uri === XHTML_NS) {
      xhtmlDepth = 1;
    } else if (stack.length >= options.maxDepth) {
      failure = new XmlSyntaxError(`XML nesting deeper than ${options.maxDepth} elements`);
      throw failure;
    }
    // saxes sends closetag for a self-closing `<div/>` too; the raw text is taken there.
    stack.push({ element, start });
  });
  parser.on('closetag', () => {
    if (xhtmlDepth > 1) {
      xhtmlDepth--;
      return;
    }
    const open = stack.pop();
    if (open && xhtmlDepth === 1) {
      open.element.raw = text.slice(open.start, parser.position);
      xhtmlDepth = 0;
    }
  });
  parser.on('text', (value) => {
    const current = stack[stack.length - 1];
    if (xhtmlDepth === 0 && current && value.trim() !== '') {
      current.element.hasText = true;
    }
  });
  parser.on('cdata', (value) => {
    const current = stack[stack.length - 1];
    if (xhtmlDepth === 0 && current && value.trim() !== '') {
      current.element.hasText = true;
    }
  });

  try {
    parser.write(text).close();
  } catch (error) {
    if (failure) {
      throw failure;
    }
    throw error;
  }
  if (!root) {
    throw new XmlSyntaxError('The document has no root element');
  }
  return root;
}
