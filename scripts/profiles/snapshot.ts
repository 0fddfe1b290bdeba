/**
 * Snapshot generation for Schakel's profiles (https://hl7.org/fhir/R4/profiling.html#snapshot):
 * the base definition's snapshot with the differential applied, element by element. It handles
 * the constraint kinds our profiles use and refuses everything else loudly:
 * - cardinality (narrowing only), must-support, short/definition texts, fixed[x] and pattern[x]
 *   values, bindings, type narrowing (target profiles), invariants (appended to the base's);
 * - elements below a complex type the base does not expand (`subject.identifier`), by unrolling
 *   that data type's own snapshot at the element, as the HL7 generators do;
 * - slicing: a differential element with a sliceName becomes a copy of the sliced element and its
 *   children, inserted after the sliced element's children and earlier slices. Extension slices
 *   get the default `url` discriminator; a slice typed with an extension profile is unrolled from
 *   that profile, so `url` and `value[x]` are in the snapshot and validators that do not resolve
 *   profiles (@medplum/core) can still tell the slices apart.
 * There is no snapshot generator in @medplum/core, and the HL7 tools need packages.fhir.org;
 * this runs offline on the same R4 definitions the validator uses (docs/care-workflows.md).
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/** Finds a StructureDefinition (with a snapshot) by canonical URL: R4 types and resources, or ours. */
export type DefinitionLookup = (url: string) => StructureDefinition | undefined;

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

const R4 = 'http://hl7.org/fhir/StructureDefinition/';

/** Differential keys that replace the base element's value. */
const REPLACED = new Set([
  'short', 'definition', 'comment', 'requirements', 'alias', 'label', 'code', 'min', 'max', 'maxLength',
  'mustSupport', 'isSummary', 'binding', 'slicing', 'type', 'meaningWhenMissing', 'orderMeaning',
]);
/** Differential keys whose lists are added to the base element's. */
const APPENDED = new Set(['constraint', 'condition', 'mapping']);
/** Keys that identify an element rather than constrain it. */
const IDENTITY = new Set(['id', 'path', 'sliceName']);
const VALUE_PREFIXES = ['fixed', 'pattern', 'minValue', 'maxValue', 'defaultValue', 'example'];

/**
 * Element extensions that describe the base specification itself and are not inherited by a
 * profile (the HL7 generators drop them too); structuredefinition-normative-version may not even
 * appear on an ElementDefinition outside the core specification.
 */
const NOT_INHERITED = new Set([
  'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status',
  'http://hl7.org/fhir/StructureDefinition/structuredefinition-normative-version',
]);

function inherited(element: ElementDefinition): ElementDefinition {
  const extension = element.extension?.filter((e) => !NOT_INHERITED.has(e.url));
  const { extension: _all, ...rest } = element;
  return extension && extension.length > 0 ? { ...rest, extension } : rest;
}

const EXTENSION_SLICING: ElementDefinition['slicing'] = {
  discriminator: [{ type: 'value', path: 'url' }],
  ordered: false,
  rules: 'open',
};

function maxOf(max: string | undefined): number {
  return max === undefined || max === '*' ? Number.POSITIVE_INFINITY : Number(max);
}

/** `CarePlan.activity:physio.detail.code` -> `CarePlan.activity.detail.code` */
export function pathOf(id: string): string {
  return id
    .split('.')
    .map((segment) => segment.split(':')[0])
    .join('.');
}

function parentId(id: string): string | undefined {
  const dot = id.lastIndexOf('.');
  return dot === -1 ? undefined : id.slice(0, dot);
}

function lastSegment(id: string): string {
  return id.slice(id.lastIndexOf('.') + 1);
}

class Snapshot {
  constructor(
    readonly elements: ElementDefinition[],
    private readonly lookup: DefinitionLookup,
    private readonly profile: string
  ) {}

  private fail(message: string): never {
    throw new SnapshotError(`${this.profile}: ${message}`);
  }

  private indexOf(id: string): number {
    return this.elements.findIndex((e) => e.id === id);
  }

  /** Index just after the element and everything below it (children and slices). */
  private endOf(id: string): number {
    let end = this.indexOf(id) + 1;
    while (end < this.elements.length) {
      const next = this.elements[end]?.id ?? '';
      if (!next.startsWith(`${id}.`) && !next.startsWith(`${id}:`)) {
        break;
      }
      end++;
    }
    return end;
  }

  private children(id: string): ElementDefinition[] {
    return this.elements.filter((e) => (e.id ?? '').startsWith(`${id}.`));
  }

  /** The snapshot elements of the type an element has (without its root), for unrolling below it. */
  private typeElements(element: ElementDefinition): { root: string; elements: ElementDefinition[] } {
    const types = element.type ?? [];
    if (types.length !== 1 || (element.id ?? '').endsWith('[x]')) {
      this.fail(`cannot expand ${element.id}: it needs exactly one type (has ${types.map((t) => t.code).join(', ') || 'none'})`);
    }
    const type = types[0] as NonNullable<ElementDefinition['type']>[number];
    const url = type.profile?.[0] ?? `${R4}${type.code}`;
    const definition = this.lookup(url);
    const elements = definition?.snapshot?.element;
    if (!elements || elements.length === 0) {
      this.fail(`no snapshot for ${url} to expand ${element.id}`);
    }
    return { root: elements[0]?.path as string, elements: elements.slice(1) };
  }

  /** Inserts the children of an element's type right after it (the element has none yet). */
  private expand(id: string): void {
    const index = this.indexOf(id);
    const element = this.elements[index] as ElementDefinition;
    const { root: typeRoot, elements } = this.typeElements(element);
    const path = element.path;
    const unrolled = elements.map((child) => {
      const copy = inherited(structuredClone(child));
      copy.id = id + (child.id as string).slice(typeRoot.length);
      copy.path = path + (child.path).slice(typeRoot.length);
      return copy;
    });
    this.elements.splice(index + 1, 0, ...unrolled);
  }

  /** Makes sure a non-slice element exists, unrolling data types on the way. */
  private ensure(id: string): number {
    let index = this.indexOf(id);
    if (index !== -1) {
      return index;
    }
    if (lastSegment(id).includes(':')) {
      this.fail(`slice ${id} is used before it is defined`);
    }
    const parent = parentId(id);
    if (parent === undefined) {
      this.fail(`unknown root ${id}`);
    }
    this.ensure(parent);
    if (this.children(parent).length > 0) {
      this.fail(`${id} is not an element of ${parent}`);
    }
    this.expand(parent);
    index = this.indexOf(id);
    if (index === -1) {
      this.fail(`${id} is not an element of the type of ${parent}`);
    }
    return index;
  }

  /** Adds the slice named by the last segment of `id`: a copy of the sliced element and its children. */
  private addSlice(id: string, sliceName: string): void {
    const slicedId = id.slice(0, id.lastIndexOf(':'));
    const slicedIndex = this.ensure(slicedId);
    const sliced = this.elements[slicedIndex] as ElementDefinition;
    if (!sliced.slicing) {
      if (!(sliced.type ?? []).some((t) => t.code === 'Extension')) {
        this.fail(`${id}: ${slicedId} is not sliced (add slicing to it in the differential first)`);
      }
      sliced.slicing = structuredClone(EXTENSION_SLICING);
    }
    const { slicing: _slicing, ...rest } = structuredClone(sliced);
    const head: ElementDefinition = { ...rest, id, sliceName, min: 0 };
    const below = this.children(slicedId)
      .filter((child) => !(child.id as string).slice(slicedId.length + 1).includes(':'))
      .map((child) => ({ ...structuredClone(child), id: id + (child.id as string).slice(slicedId.length) }));
    this.elements.splice(this.endOf(slicedId), 0, head, ...below);
  }

  /** A slice typed with an extension profile: unroll the profile so `url` is in the snapshot. */
  private unrollExtensionSlice(id: string): void {
    const element = this.elements[this.indexOf(id)] as ElementDefinition;
    const type = element.type?.[0];
    if (type?.code === 'Extension' && type.profile?.[0] !== undefined && this.children(id).length === 0) {
      this.expand(id);
    }
  }

  apply(diff: ElementDefinition): void {
    const id = diff.id;
    if (!id) {
      this.fail('every differential element needs an id');
    }
    if (diff.path !== undefined && diff.path !== pathOf(id)) {
      this.fail(`${id} has path ${diff.path}, expected ${pathOf(id)}`);
    }
    const last = lastSegment(id);
    let index = this.indexOf(id);
    if (index === -1 && last.includes(':')) {
      const sliceName = last.slice(last.indexOf(':') + 1);
      if (diff.sliceName !== undefined && diff.sliceName !== sliceName) {
        this.fail(`${id} has sliceName ${diff.sliceName}`);
      }
      this.addSlice(id, sliceName);
      index = this.indexOf(id);
    } else if (index === -1) {
      index = this.ensure(id);
    }
    this.merge(this.elements[index] as ElementDefinition, diff);
    if (last.includes(':')) {
      this.unrollExtensionSlice(id);
      this.rollUpSliceMinimum(id.slice(0, id.lastIndexOf(':')));
    }
  }

  /**
   * Required slices make the sliced element required: its min is at least the sum of its slices'
   * mins (as SUSHI does), so a validator that checks slices only on present elements still
   * refuses a resource that leaves the element out.
   */
  private rollUpSliceMinimum(slicedId: string): void {
    const sliced = this.elements[this.indexOf(slicedId)] as ElementDefinition;
    const slices = this.elements.filter((e) => e.sliceName !== undefined && e.id === `${slicedId}:${e.sliceName}`);
    const required = slices.reduce((sum, e) => sum + (e.min ?? 0), 0);
    if ((sliced.min ?? 0) < required) {
      sliced.min = required;
    }
  }

  private merge(element: ElementDefinition, diff: ElementDefinition): void {
    const target = element as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(diff)) {
      if (IDENTITY.has(key)) {
        continue;
      }
      if (key === 'min' && (value as number) < (element.min ?? 0)) {
        this.fail(`${diff.id}: min ${String(value)} is below the base's ${String(element.min)}`);
      }
      if (key === 'max' && maxOf(value as string) > maxOf(element.max)) {
        this.fail(`${diff.id}: max ${String(value)} is above the base's ${String(element.max)}`);
      }
      if (key === 'type') {
        this.checkTypes(element, value as NonNullable<ElementDefinition['type']>, diff.id as string);
      }
      if (APPENDED.has(key)) {
        target[key] = [...((target[key] as unknown[] | undefined) ?? []), ...structuredClone(value as unknown[])];
      } else if (REPLACED.has(key) || VALUE_PREFIXES.some((prefix) => key.startsWith(prefix))) {
        target[key] = structuredClone(value);
      } else {
        this.fail(`${diff.id}: differential key "${key}" is not supported by this generator`);
      }
    }
  }

  private checkTypes(element: ElementDefinition, types: NonNullable<ElementDefinition['type']>, id: string): void {
    const allowed = new Set((element.type ?? []).map((t) => t.code));
    for (const type of types) {
      if (!allowed.has(type.code)) {
        this.fail(`${id}: type ${type.code} is not allowed by the base (${[...allowed].join(', ')})`);
      }
    }
  }
}

/**
 * The snapshot elements of a profile: its base definition's snapshot with the differential
 * applied. Throws SnapshotError for constraints that would loosen the base, unknown elements and
 * differential keys this generator does not understand.
 */
export function generateSnapshot(profile: StructureDefinition, lookup: DefinitionLookup): ElementDefinition[] {
  const name = profile.url ?? profile.id ?? '(unnamed profile)';
  if (profile.derivation !== 'constraint' || !profile.baseDefinition) {
    throw new SnapshotError(`${name}: only constraints on a base definition are supported`);
  }
  const base = lookup(profile.baseDefinition);
  if (!base?.snapshot?.element?.length) {
    throw new SnapshotError(`${name}: base ${profile.baseDefinition} is unknown or has no snapshot`);
  }
  const snapshot = new Snapshot(structuredClone(base.snapshot.element).map(inherited), lookup, name);
  for (const diff of profile.differential?.element ?? []) {
    snapshot.apply(diff);
  }
  return snapshot.elements;
}
