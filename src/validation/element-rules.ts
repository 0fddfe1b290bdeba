/**
 * Rules that need each element's definition and that @medplum/core's validator does not enforce
 * (or only warns about): reference form and target types, one type per choice element, required
 * bindings of coded elements, the invariants of nested data types and resources, narrative XHTML
 * and Attachment sizes. One typed walk over the resource (@medplum/core's crawler, which resolves
 * choice types and nested resources and yields FHIRPath-style paths) feeds every rule.
 */
import {
  crawlTypedValue,
  isPrimitiveType,
  isResource,
  toTypedValue,
  type CrawlerVisitor,
  type InternalTypeSchema,
  type TypedValue,
  type TypedValueWithPath,
} from '@medplum/core';
import type { Attachment, Bundle, CodeableConcept, Coding, Extension, OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';
import { requiredBindingIssues } from './coded-bindings.js';
import { containedIssues } from './contained.js';
import { extensionIssues, type ExtensionSite } from './extensions.js';
import { narrativeIssues } from './narrative.js';
import { typeInvariantIssues } from './type-invariants.js';
import { referenceIssues, type ReferenceScope } from './references.js';

export interface ElementRuleOptions {
  /** The resource is a transaction or batch entry: urn:uuid: and conditional references resolve. */
  readonly inBundle: boolean;
  /** Resource type constrained by a loaded profile URL. */
  readonly profileType: (url: string) => string | undefined;
  /** Issues of a nested resource (contained, Bundle entry) against the profiles it claims. */
  readonly nestedProfileIssues?: (resource: Resource, path: string) => OperationOutcomeIssue[];
}

interface Frame {
  readonly resource: Resource;
  readonly path: string;
  readonly contained: boolean;
}

/** For each schema, its choice elements: `value` -> the JSON names `valueString`, `valueInteger`... */
const choiceCache = new WeakMap<InternalTypeSchema, Array<{ base: string; names: Set<string> }>>();

function choices(schema: InternalTypeSchema): Array<{ base: string; names: Set<string> }> {
  let list = choiceCache.get(schema);
  if (!list) {
    list = Object.entries(schema.elements)
      .filter(([key]) => key.endsWith('[x]'))
      .map(([key, element]) => {
        const base = key.slice(0, -3);
        const names = new Set(element.type.map((t) => base + t.code.charAt(0).toUpperCase() + t.code.slice(1)));
        return { base, names };
      });
    choiceCache.set(schema, list);
  }
  return list;
}

/** Decoded length of base64 content, ignoring the whitespace R4 allows in it. */
function base64Length(data: string): number {
  const compact = data.replace(/\s+/g, '');
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return (compact.length / 4) * 3 - padding;
}

class ElementRuleVisitor implements CrawlerVisitor {
  readonly issues: OperationOutcomeIssue[] = [];
  private readonly frames: Frame[] = [];

  constructor(
    private readonly options: ElementRuleOptions,
    private readonly root: TypedValue
  ) {}

  // The crawler's `path` argument omits array indexes; value.path has them.
  onEnterResource(_path: string, value: TypedValueWithPath): void {
    const resource = value.value as Resource;
    this.issues.push(...containedIssues(resource, value.path));
    if (this.frames.length > 0 && resource.meta?.profile && this.options.nestedProfileIssues) {
      this.issues.push(...this.options.nestedProfileIssues(resource, value.path));
    }
    this.frames.push({ resource, path: value.path, contained: /\.contained\[\d+\]$/.test(value.path) });
  }

  onExitResource(): void {
    this.frames.pop();
  }

  onEnterObject(_path: string, value: TypedValueWithPath, schema: InternalTypeSchema): void {
    const object = value.value as Record<string, unknown> | undefined;
    if (!object || typeof object !== 'object') {
      return;
    }
    // A choice element takes one type: valueString and valueInteger together are two values of
    // one element (https://hl7.org/fhir/R4/formats.html#choice). @medplum/core only warns.
    for (const { base, names } of choices(schema)) {
      const present = Object.keys(object).filter((key) => names.has(key));
      if (present.length > 1) {
        this.issues.push(
          issue({ code: 'structure', text: `${base}[x] holds more than one type: ${present.join(', ')}`, expression: `${value.path}.${base}` })
        );
      }
    }
  }

  visitProperty(
    parent: TypedValueWithPath,
    key: string,
    _path: string,
    propertyValues: (TypedValueWithPath | TypedValueWithPath[])[],
    schema: InternalTypeSchema
  ): void {
    const element = schema.elements[key];
    for (const entry of propertyValues) {
      for (const value of Array.isArray(entry) ? entry : [entry]) {
        if (value.value === undefined || value.value === null) {
          continue;
        }
        if (!isPrimitiveType(value.type)) {
          const resource = isResource(value.value) ? value.value : this.frames[this.frames.length - 1]?.resource;
          this.issues.push(...typeInvariantIssues(value, resource, this.root));
        }
        switch (value.type) {
          case 'Reference':
            this.issues.push(
              ...referenceIssues(
                value.value as Reference,
                value.path,
                element?.type.find((t) => t.code === 'Reference')?.targetProfile,
                this.scope()
              )
            );
            break;
          case 'CodeableConcept':
          case 'Coding':
            this.issues.push(...requiredBindingIssues(value.type, value.value as CodeableConcept | Coding, element?.binding, value.path));
            break;
          case 'Attachment':
            this.attachment(value.value as Attachment, value.path);
            break;
          case 'Extension':
            this.issues.push(...extensionIssues(value.value as Extension, value.path, this.site(parent, schema)));
            break;
          case 'Narrative':
            this.issues.push(...narrativeIssues((value.value as { div?: unknown }).div, `${value.path}.div`));
            break;
          default:
            break;
        }
      }
    }
  }

  /** The names an extension context may give the object that holds an extension. */
  private site(parent: TypedValueWithPath, schema: InternalTypeSchema): ExtensionSite {
    const types: string[] = ['Element', 'Base'];
    for (let type: InternalTypeSchema | undefined = schema; type; type = type.parentType) {
      types.push(type.name, type.type);
    }
    if (isResource(parent.value)) {
      types.push('Resource', 'DomainResource');
    } else if (schema.path.includes('.')) {
      types.push('BackboneElement');
    }
    const frame = this.frames[this.frames.length - 1];
    const relative = frame && parent.path.startsWith(frame.path) ? frame.resource.resourceType + parent.path.slice(frame.path.length) : parent.path;
    return { types, paths: [schema.path, relative.replace(/\[\d+\]/g, '')] };
  }

  private scope(): ReferenceScope {
    const current = this.frames.length - 1;
    let containerIndex = current;
    while (containerIndex > 0 && this.frames[containerIndex]?.contained) {
      containerIndex--;
    }
    const bundles = this.frames.slice(0, current).filter((f) => f.resource.resourceType === 'Bundle');
    const transactional = bundles.some((f) => ['transaction', 'batch'].includes((f.resource as Bundle).type));
    return {
      inBundle: this.options.inBundle || bundles.length > 0,
      conditionalAllowed: this.options.inBundle || transactional,
      container: this.frames[containerIndex]?.resource,
      profileType: this.options.profileType,
    };
  }

  /** Attachment.size is the number of bytes of the content (https://hl7.org/fhir/R4/datatypes.html#Attachment). */
  private attachment(attachment: Attachment, path: string): void {
    if (typeof attachment.data === 'string' && typeof attachment.size === 'number') {
      const actual = base64Length(attachment.data);
      if (Number.isInteger(actual) && actual !== attachment.size) {
        this.issues.push(
          issue({ code: 'value', text: `Attachment.size is ${attachment.size} but data holds ${actual} bytes`, expression: `${path}.size` })
        );
      }
    }
  }
}

/** Issues of the element rules for a resource; errors and warnings alike. */
export function elementRuleIssues(resource: Resource, options: ElementRuleOptions): OperationOutcomeIssue[] {
  const root = toTypedValue(resource);
  const visitor = new ElementRuleVisitor(options, root);
  crawlTypedValue(root, visitor);
  return visitor.issues;
}
