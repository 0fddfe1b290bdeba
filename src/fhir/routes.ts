/**
 * The routes table: every URL shape of https://hl7.org/fhir/R4/http.html as data, tagged with its
 * interaction code. HTTP, Bundle entries, the CapabilityStatement and audit all read this table;
 * nothing else parses FHIR URLs.
 */
import { isR4ResourceType } from './definitions.js';
import { isValidId } from './ids.js';
import { badRequest, methodNotAllowed, notFound } from './outcomes.js';
import type { HttpMethod, InteractionCode } from './request.js';

/** A literal segment, or one of `:type`, `:id`, `:vid`, `:compartment`, `:operation`. */
type Segment = string;

export interface RouteDefinition {
  readonly methods: readonly HttpMethod[];
  readonly path: readonly Segment[];
  readonly interaction: InteractionCode;
}

export const ROUTES: readonly RouteDefinition[] = [
  { methods: ['GET'], path: ['metadata'], interaction: 'capabilities' },
  { methods: ['POST'], path: [], interaction: 'batch-transaction' },
  { methods: ['GET'], path: [], interaction: 'search-system' },
  { methods: ['POST'], path: ['_search'], interaction: 'search-system' },
  { methods: ['GET'], path: ['_history'], interaction: 'history-system' },
  { methods: ['GET', 'POST'], path: [':operation'], interaction: 'operation' },
  { methods: ['GET'], path: [':type'], interaction: 'search-type' },
  { methods: ['POST'], path: [':type', '_search'], interaction: 'search-type' },
  { methods: ['POST'], path: [':type'], interaction: 'create' },
  { methods: ['PUT'], path: [':type'], interaction: 'conditional-update' },
  { methods: ['PATCH'], path: [':type'], interaction: 'conditional-patch' },
  { methods: ['DELETE'], path: [':type'], interaction: 'conditional-delete' },
  { methods: ['GET'], path: [':type', '_history'], interaction: 'history-type' },
  { methods: ['GET', 'POST'], path: [':type', ':operation'], interaction: 'operation' },
  { methods: ['GET'], path: [':type', ':id'], interaction: 'read' },
  { methods: ['PUT'], path: [':type', ':id'], interaction: 'update' },
  { methods: ['PATCH'], path: [':type', ':id'], interaction: 'patch' },
  { methods: ['DELETE'], path: [':type', ':id'], interaction: 'delete' },
  { methods: ['GET'], path: [':type', ':id', '_history'], interaction: 'history-instance' },
  { methods: ['GET', 'POST'], path: [':type', ':id', ':operation'], interaction: 'operation' },
  { methods: ['GET'], path: [':type', ':id', '_history', ':vid'], interaction: 'vread' },
  { methods: ['GET'], path: [':type', ':id', ':compartment'], interaction: 'search-compartment' },
];

export interface MatchedRoute {
  readonly interaction: InteractionCode;
  readonly resourceType?: string;
  readonly id?: string;
  readonly versionId?: string;
  readonly operation?: string;
  readonly compartmentType?: string;
}

type Captures = { -readonly [K in keyof MatchedRoute]?: MatchedRoute[K] };

function matchSegment(pattern: Segment, value: string, captures: Captures): boolean {
  switch (pattern) {
    case ':type':
      if (!/^[A-Z][A-Za-z]+$/.test(value)) {
        return false;
      }
      captures.resourceType = value;
      return true;
    case ':compartment':
      if (!/^[A-Z][A-Za-z]+$/.test(value)) {
        return false;
      }
      captures.compartmentType = value;
      return true;
    case ':id':
      if (value.startsWith('$') || value.startsWith('_')) {
        return false;
      }
      captures.id = value;
      return true;
    case ':vid':
      captures.versionId = value;
      return true;
    case ':operation':
      if (!/^\$[A-Za-z][A-Za-z0-9-]*$/.test(value)) {
        return false;
      }
      captures.operation = value.slice(1);
      return true;
    default:
      return pattern === value;
  }
}

function matchPath(route: RouteDefinition, segments: readonly string[]): Captures | undefined {
  if (route.path.length !== segments.length) {
    return undefined;
  }
  const captures: Captures = {};
  for (let i = 0; i < segments.length; i++) {
    if (!matchSegment(route.path[i] as Segment, segments[i] as string, captures)) {
      return undefined;
    }
  }
  return captures;
}

/**
 * Finds the interaction for a method and the path segments below the FHIR base.
 * Unknown paths and resource types answer 404, a known path with another method 405,
 * and a malformed id 400.
 */
export function matchRoute(method: HttpMethod, segments: readonly string[]): MatchedRoute {
  const lookup: HttpMethod = method === 'HEAD' ? 'GET' : method;
  let pathKnown = false;
  for (const route of ROUTES) {
    const captures = matchPath(route, segments);
    if (!captures) {
      continue;
    }
    pathKnown = true;
    if (!route.methods.includes(lookup)) {
      continue;
    }
    for (const type of [captures.resourceType, captures.compartmentType]) {
      if (type !== undefined && !isR4ResourceType(type)) {
        throw notFound(`Unknown resource type "${type}"`);
      }
    }
    if (captures.id !== undefined && !isValidId(captures.id)) {
      throw badRequest(`Invalid resource id "${captures.id}"`);
    }
    if (captures.versionId !== undefined && !isValidId(captures.versionId)) {
      throw badRequest(`Invalid version id "${captures.versionId}"`);
    }
    return { interaction: route.interaction, ...captures };
  }
  if (pathKnown) {
    throw methodNotAllowed(`${method} is not allowed on this path`);
  }
  throw notFound(`Unknown path /${segments.join('/')}`);
}

/** Splits a path below the base into decoded segments (`Patient/1/_history` -> 3 segments). */
export function pathSegments(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') {
    return [];
  }
  return trimmed.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw badRequest(`Malformed percent-encoding in path segment "${s}"`);
    }
  });
}
