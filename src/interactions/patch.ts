// patch: https://hl7.org/fhir/R4/http.html#patch, with JSON Patch (RFC 6902) bodies
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { Resource } from '@medplum/fhirtypes';
import { copyFhir, decimalTextOf, keepDecimalText } from '../fhir/decimal-text.js';
import { parseStoredJson } from '../fhir/json-parse.js';
import { badRequest, issue, notFound, preconditionFailed, unprocessable, unsupportedMediaType } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { etagOf } from '../fhir/ids.js';
import { fullJson } from '../repository/binary-content.js';
import type { Repository } from '../repository/repository.js';
import { assertNotMany, criteriaOnly, lockAndMatch } from './conditional.js';
import type { FhirContext } from './context.js';
import { versionResponse } from './respond.js';
import { ifMatchVersion } from './update.js';
import { UNCHANGED, withoutServerFields, writeOutcome } from './write-rules.js';

const { applyOperation, getValueByPointer, validate: validatePatch, JsonPatchError } = fastJsonPatch;

export const JSON_PATCH = 'application/json-patch+json';
/** JSON Pointer segments that reach Object.prototype; no FHIR element has these names. */
const PROTOTYPE_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function operations(request: FhirRequest): Operation[] {
  if (request.contentType !== JSON_PATCH) {
    throw unsupportedMediaType(`PATCH needs a ${JSON_PATCH} body`);
  }
  if (!Array.isArray(request.body)) {
    throw badRequest('A JSON Patch document is an array of operations');
  }
  const ops = request.body as Operation[];
  ops.forEach((op, index) => {
    if (op === null || typeof op !== 'object' || Array.isArray(op)) {
      throw badRequest('Each JSON Patch operation is an object (RFC 6902 section 4)', `[${String(index)}]`);
    }
    // RFC 6902 section 4.4: "from" must not be a proper prefix of "path". The library does not
    // check it, and moving the whole document ("from": "") into itself leaves a circular object.
    const from = (op as { from?: unknown }).from;
    if (op.op === 'move' && typeof from === 'string' && typeof op.path === 'string' && op.path.startsWith(`${from}/`)) {
      throw badRequest('A JSON Patch move may not move a value into a location inside itself', `[${String(index)}]`);
    }
    for (const pointer of [op.path, from]) {
      if (typeof pointer === 'string' && pointer.split('/').some((segment) => PROTOTYPE_SEGMENTS.has(segment))) {
        throw badRequest('A JSON Patch path may not name __proto__, constructor or prototype', `[${String(index)}]`);
      }
    }
  });
  const error = validatePatch(ops);
  if (error) {
    throw badRequest(`Invalid JSON Patch: ${error.message.split('\n')[0] ?? ''}`, `[${String(error.index)}]`);
  }
  return ops;
}

/** The holder and key a JSON Pointer (RFC 6901) ends in, when it names an element inside the document. */
function holderOf(document: unknown, pointer: string): { holder: object; key: string | number } | undefined {
  const at = pointer.lastIndexOf('/');
  if (at < 0) {
    return undefined;
  }
  const holder: unknown = getValueByPointer(document, pointer.slice(0, at));
  if (typeof holder !== 'object' || holder === null) {
    return undefined;
  }
  const key = pointer.slice(at + 1).replace(/~1/g, '/').replace(/~0/g, '~');
  return { holder, key: Array.isArray(holder) && key === '-' ? holder.length - 1 : key };
}

/**
 * A number the patch writes keeps its text as written (fhir/decimal-text.ts): an add or replace
 * the text it has in the patch document, a move or copy the text it had where it came from. The
 * library assigns plain numbers, so the text is put beside each one after its operation.
 */
function applyKeepingDecimals(document: Resource, ops: Operation[]): Resource {
  let current = document;
  ops.forEach((op, index) => {
    const from = op.op === 'move' || op.op === 'copy' ? holderOf(current, op.from) : undefined;
    const text = op.op === 'add' || op.op === 'replace' ? decimalTextOf(op, 'value') : from && decimalTextOf(from.holder, from.key);
    current = applyOperation(current, op, true, true, true, index).newDocument;
    if (op.op === 'add' || op.op === 'replace' || op.op === 'move' || op.op === 'copy') {
      const target = holderOf(current, op.path);
      if (target && typeof (target.holder as Record<string | number, unknown>)[target.key] === 'number') {
        keepDecimalText(target.holder, target.key, text);
      }
    }
  });
  return current;
}

function patched(current: Resource, ops: Operation[]): Resource {
  try {
    return applyKeepingDecimals(copyFhir(current), ops);
  } catch (error) {
    // A failed "test", a path that does not exist, or an operation that cannot hold on this
    // document (moving a value into itself surfaces from the library as a TypeError): the patch
    // does not fit this version.
    const at = error instanceof JsonPatchError ? { expression: `[${String(error.index)}]` } : {};
    const name = error instanceof JsonPatchError ? error.name : 'the operations do not fit the resource';
    throw unprocessable([issue({ code: 'processing', text: `JSON Patch cannot be applied: ${name}`, ...at })]);
  }
}

async function patchOne(ctx: FhirContext, repo: Repository, request: FhirRequest, id: string, ops: Operation[]) {
  const resourceType = request.resourceType as string;
  await repo.lock(`${resourceType}/${id}`);
  const currentVersion = await repo.read(resourceType, id);
  const ifMatch = ifMatchVersion(request);
  if (ifMatch !== undefined && ifMatch !== currentVersion.versionId) {
    throw preconditionFailed(
      `Version conflict: If-Match ${etagOf(ifMatch)} but the current version is ${etagOf(currentVersion.versionId)}`
    );
  }
  const result = patched(parseStoredJson<Resource>(fullJson(currentVersion) as string), ops);
  if (result === null || typeof result !== 'object' || result.resourceType !== resourceType || result.id !== id) {
    throw unprocessable([issue({ code: 'invariant', text: 'A patch may not change resourceType or id' })]);
  }
  const resource = withoutServerFields(result, { dropId: false }) as Resource & { id: string };
  const warnings = ctx.validator.validate(resource);
  const written = await repo.update(resource, { baseUrl: request.baseUrl, method: 'PATCH' });
  return versionResponse(200, written.version, {
    baseUrl: request.baseUrl,
    resource: written.resource,
    outcome: writeOutcome([...warnings, ...written.warnings], written.changed ? 'Patched' : UNCHANGED),
  });
}

export async function patch(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const ops = operations(request);
  return ctx.repo.transaction((repo) => patchOne({ ...ctx, repo }, repo, request, request.id as string, ops));
}

/** PATCH /Type?criteria: patch the one match (404 for none, 412 for many). */
export async function conditionalPatch(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const ops = operations(request);
  const resourceType = request.resourceType as string;
  return ctx.repo.transaction(async (repo) => {
    const matches = await lockAndMatch(repo, resourceType, criteriaOnly(request.query));
    assertNotMany(matches, resourceType, 'conditional patch');
    const id = matches[0];
    if (id === undefined) {
      throw notFound(`No ${resourceType} matches the criteria`);
    }
    return patchOne({ ...ctx, repo }, repo, request, id, ops);
  });
}
