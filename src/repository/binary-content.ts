/**
 * Binary content kept apart from the resource JSON (012_binary_content.sql): the resource and
 * history rows store the Binary without `data`, binary_content holds the bytes of each version.
 * Writes split the two; reads join them again, so a Binary answers as it was sent
 * (https://hl7.org/fhir/R4/binary.html), also in search, _include and history Bundles.
 */
import type { Binary, Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../storage/database.js';
import type { ResourceChange, StoredVersion, WriteListener } from './types.js';
import { storedFhirJson } from '../fhir/decimal-text.js';

/** The JSON a version stores: for a Binary, everything but `data`. */
export function storedJson(resource: Resource): string {
  if (resource.resourceType !== 'Binary' || resource.data === undefined) {
    return storedFhirJson(resource);
  }
  const { data: _data, ...rest } = resource;
  return storedFhirJson(rest);
}

/** The bytes of `Binary.data`; base64 may carry whitespace (datatypes.html#base64Binary). */
export function decodeData(data: string): Buffer {
  return Buffer.from(data, 'base64');
}

/** node-postgres answers bytea as Buffer, PGlite as Uint8Array: one type for the callers. */
export function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The stored JSON of a version with its bytes back in `data`, as the client sent the resource. */
export function fullJson(version: StoredVersion): string | undefined {
  if (version.json === undefined || version.content === undefined) {
    return version.json;
  }
  const resource = JSON.parse(version.json) as Binary;
  return JSON.stringify(withData(resource, version.content));
}

function withData(resource: Binary, content: Uint8Array): Binary {
  // `data` after contentType and securityContext, where the R4 JSON form puts it.
  const { meta, ...rest } = resource;
  return { ...rest, ...(meta !== undefined ? { meta } : {}), data: asBuffer(content).toString('base64') };
}

/** Reads the bytes of Binary versions (one query), keyed `id/versionId`. */
export async function binaryContents(db: Queryable, keys: ReadonlyArray<{ id: string; versionId: number }>): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  if (keys.length === 0) {
    return result;
  }
  const rows = await db.query<{ resource_id: string; version_id: number; content: Uint8Array }>(
    `SELECT b.resource_id, b.version_id, b.content FROM binary_content b
       JOIN unnest($1::text[], $2::integer[]) AS k(id, version_id) ON b.resource_id = k.id AND b.version_id = k.version_id`,
    [keys.map((k) => k.id), keys.map((k) => k.versionId)]
  );
  for (const row of rows) {
    result.set(`${row.resource_id}/${row.version_id}`, asBuffer(row.content));
  }
  return result;
}

/** Resources as read from the resource table with the bytes of each Binary put back (one query). */
export async function withBinaryData(db: Queryable, resources: readonly Resource[]): Promise<Resource[]> {
  const keys = resources
    .filter((r): r is Binary => r.resourceType === 'Binary' && r.id !== undefined && r.data === undefined && r.meta?.versionId !== undefined)
    .map((r) => ({ id: r.id as string, versionId: Number(r.meta?.versionId) }));
  if (keys.length === 0) {
    return [...resources];
  }
  const contents = await binaryContents(db, keys);
  return resources.map((r) => {
    const content = r.resourceType === 'Binary' ? contents.get(`${r.id ?? ''}/${r.meta?.versionId ?? ''}`) : undefined;
    return content === undefined || r.resourceType !== 'Binary' ? r : withData(r, content);
  });
}

function contentRows(changes: readonly ResourceChange[]): Array<{ id: string; versionId: number; content: Buffer }> {
  return changes.flatMap((change) => {
    const resource = change.resource;
    if (change.kind === 'delete' || resource?.resourceType !== 'Binary' || resource.data === undefined) {
      return [];
    }
    return [{ id: change.version.id, versionId: change.version.versionId, content: decodeData(resource.data) }];
  });
}

/** Stores the bytes of every Binary version written, in the write's transaction. */
export function createBinaryContentWriter(): WriteListener {
  const listener: WriteListener = {
    async onWrite(tx: Queryable, change: ResourceChange): Promise<void> {
      await listener.onWrites?.(tx, [change]);
    },
    async onWrites(tx: Queryable, changes: readonly ResourceChange[]): Promise<void> {
      for (const row of contentRows(changes)) {
        // One statement per Binary: a bytea array parameter would copy every file once more.
        await tx.query('INSERT INTO binary_content (resource_id, version_id, content) VALUES ($1, $2, $3)', [row.id, row.versionId, row.content]);
      }
    },
  };
  return listener;
}
