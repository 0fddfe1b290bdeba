/**
 * Links between the entries of a Bundle (https://hl7.org/fhir/R4/http.html#trules,
 * bundle.html#references): every reference, every element of type uri, url, oid or uuid, and every
 * `<a href>` / `<img src>` of the narrative that names an entry's fullUrl is replaced by the local
 * `Type/id` the server gave that entry; canonical and string elements are left alone. Conditional
 * references (`Patient?identifier=…`) are replaced by their single match.
 */
import type { Resource } from '@medplum/fhirtypes';
import { elementTypeAt, type PathPart } from '../../fhir/element-types.js';
import { badRequest, notSupported } from '../../fhir/outcomes.js';

const LINK_TYPES = new Set(['uri', 'url', 'oid', 'uuid']);
const CONDITIONAL = /^([A-Z][A-Za-z]+)\?(.*)$/;
const PLACEHOLDER = /^urn:(uuid|oid):/;
const RELATIVE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/** What a Bundle's links resolve to: fullUrl keys and conditional references, each to `Type/id`. */
export interface LinkTargets {
  /** Keys made by fullUrlKey(). */
  readonly identities: ReadonlyMap<string, string>;
  /** Conditional reference text -> `Type/id`; undefined where they are not allowed (batch). */
  readonly conditional: ReadonlyMap<string, string> | undefined;
  readonly baseUrl: string;
  /** Why an unresolved placeholder is an error, for the message. */
  readonly scope: 'transaction' | 'batch';
}

/**
 * The key a fullUrl (or a reference) is matched by: `urn:uuid:` / `urn:oid:` as written, a URL on
 * this server's base (or a relative one) as `Type/id`, any other absolute URL as written.
 */
export function fullUrlKey(url: string, baseUrl: string): string {
  return url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length + 1) : url;
}

/** `http://other/fhir/Observation/1` -> `http://other/fhir`: relative references inside resolve against it. */
function fullUrlBase(fullUrl: string | undefined): string | undefined {
  const match = fullUrl === undefined ? null : /^(https?:\/\/.+)\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.exec(fullUrl);
  return match?.[1];
}

export function isConditionalReference(reference: string): boolean {
  return CONDITIONAL.test(reference);
}

/**
 * Every conditional reference of an entry's body, with its path (first occurrence only): in a
 * resource, or in the values of a JSON Patch's operations.
 */
export function conditionalReferences(body: unknown, root: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, `${path}[${i}]`));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'reference' && typeof child === 'string' && CONDITIONAL.test(child) && !found.has(child)) {
          found.set(child, path);
        } else if (typeof child === 'object' && !(key === 'entry' && (value as Resource).resourceType === 'Bundle')) {
          visit(child, `${path}.${key}`);
        }
      }
    }
  };
  if (Array.isArray(body)) {
    body.forEach((op: unknown, i) => {
      const { value, path } = (op ?? {}) as { value?: unknown; path?: unknown };
      if (typeof value === 'string' && typeof path === 'string' && path.endsWith('/reference') && CONDITIONAL.test(value)) {
        found.set(value, `${root}[${i}].value`);
      } else {
        visit(value, `${root}[${i}].value`);
      }
    });
  } else {
    visit(body, root);
  }
  return found;
}

function expressionOf(root: string, path: readonly PathPart[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : `${out}.${part}`), root);
}

class LinkRewriter {
  private readonly path: PathPart[] = [];
  private readonly base: string | undefined;

  constructor(
    private readonly resource: Resource,
    private readonly root: string,
    fullUrl: string | undefined,
    private readonly targets: LinkTargets
  ) {
    this.base = fullUrlBase(fullUrl);
  }

  private target(url: string): string | undefined {
    const { identities, baseUrl } = this.targets;
    const direct = identities.get(fullUrlKey(url, baseUrl));
    if (direct !== undefined || this.base === undefined || !RELATIVE.test(url)) {
      return direct;
    }
    // A relative reference inside an entry whose fullUrl is on another base resolves against that base.
    return identities.get(`${this.base}/${url}`);
  }

  /** The Reference element (not its `reference` string), as the repository's integrity issues name it. */
  private referenceExpression(): string {
    return expressionOf(this.root, this.path.slice(0, -1));
  }

  private reference(value: string): string {
    const resolved = this.target(value);
    if (resolved !== undefined) {
      return resolved;
    }
    if (CONDITIONAL.test(value)) {
      const conditional = this.targets.conditional;
      if (conditional === undefined) {
        throw notSupported(
          'Conditional references are resolved only in a transaction (http.html#trules)',
          this.referenceExpression()
        );
      }
      const resolved = conditional.get(value);
      if (resolved === undefined) {
        throw badRequest(`The conditional reference ${value} was not resolved`, this.referenceExpression());
      }
      return resolved;
    }
    if (PLACEHOLDER.test(value)) {
      throw badRequest(
        this.targets.scope === 'transaction'
          ? `${value} is not the fullUrl of an entry of this transaction`
          : `${value} cannot be resolved: entries of a batch do not refer to each other`,
        this.referenceExpression()
      );
    }
    return value;
  }

  private narrative(div: string): string {
    return div.replace(/\b(href|src)="([^"]*)"/g, (all, attribute: string, url: string) => {
      const resolved = this.target(url);
      return resolved === undefined ? all : `${attribute}="${resolved}"`;
    });
  }

  private string(key: PathPart, value: string): string {
    if (key === 'reference') {
      return this.reference(value);
    }
    if (key === 'div') {
      return this.targets.identities.size > 0 ? this.narrative(value) : value;
    }
    const resolved = this.target(value);
    if (resolved === undefined) {
      return value;
    }
    const type = elementTypeAt(this.resource, this.path);
    return type !== undefined && LINK_TYPES.has(type) ? resolved : value;
  }

  /** Copy-on-write walk: unchanged subtrees are shared, so the request body is never modified. */
  rewrite(value: unknown, key: PathPart | undefined): unknown {
    if (typeof value === 'string') {
      return key === undefined ? value : this.string(key, value);
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      value.forEach((item, i) => {
        this.path.push(i);
        const next = this.rewrite(item, typeof item === 'string' ? key : i);
        this.path.pop();
        if (next !== item) {
          out ??= value.slice();
          out[i] = next;
        }
      });
      return out ?? value;
    }
    let out: Record<string, unknown> | undefined;
    const record = value as Record<string, unknown>;
    const isBundle = record['resourceType'] === 'Bundle';
    for (const [k, child] of Object.entries(record)) {
      // A Bundle stored as a resource (a document) resolves its own entries' links.
      if (isBundle && k === 'entry') {
        continue;
      }
      this.path.push(k);
      const next = this.rewrite(child, k);
      this.path.pop();
      if (next !== child) {
        out ??= { ...record };
        out[k] = next;
      }
    }
    return out ?? value;
  }
}

/**
 * The resource with its links to other entries resolved; the input is never modified.
 * Throws 400 (anchored under `root`) for a `urn:uuid:`/`urn:oid:` reference that names no entry,
 * and for a conditional reference where none are allowed.
 */
export function resolveLinks(resource: Resource, root: string, fullUrl: string | undefined, targets: LinkTargets): Resource {
  return new LinkRewriter(resource, root, fullUrl, targets).rewrite(resource, undefined) as Resource;
}

/** Query values (`subject=urn:uuid:…`) that name an entry's fullUrl, replaced by its `Type/id`. */
export function resolveQueryLinks(
  query: ReadonlyArray<readonly [string, string]>,
  targets: LinkTargets
): Array<readonly [string, string]> {
  return query.map(([k, v]) => {
    const resolved = targets.identities.get(fullUrlKey(v, targets.baseUrl));
    return resolved === undefined ? [k, v] : [k, resolved];
  });
}

/**
 * JSON Patch operations of a PATCH entry: references in each operation's value. Element types
 * are unknown there, so only `reference` values and narrative links are resolved.
 */
export function resolvePatchLinks(ops: readonly unknown[], root: string, fullUrl: string | undefined, targets: LinkTargets): unknown[] {
  return ops.map((op, i) => {
    if (op === null || typeof op !== 'object' || !('value' in op)) {
      return op;
    }
    const { value, path } = op as { value: unknown; path?: unknown };
    const holder = typeof value === 'string' && typeof path === 'string' && path.endsWith('/reference') ? { reference: value } : value;
    const rewriter = new LinkRewriter({} as Resource, `${root}[${i}].value`, fullUrl, targets);
    const next = rewriter.rewrite(holder, undefined);
    if (next === holder) {
      return op;
    }
    return { ...op, value: holder === value ? next : (next as { reference: string }).reference };
  });
}
