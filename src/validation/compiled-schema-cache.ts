/**
 * A disk cache of the compiled R4 JSON schema. Compiling the schema for every resource type with
 * ajv costs seconds of CPU at every start (of the server, and of every test process); ajv can
 * write what it compiled as standalone JavaScript (https://ajv.js.org/standalone.html), which
 * loads in a fraction of that, and V8's code cache for that script (node:vm `cachedData`) saves
 * most of the parsing as well.
 *
 * The files are named by a hash of everything the generated code depends on, so a changed schema,
 * ajv version or generator never loads stale code. They live beside the dependencies
 * (node_modules/.cache/schakel), which only whoever installed the dependencies can write: the
 * code loaded from there is trusted exactly as much as node_modules itself. Any failure to read or
 * write the cache only means compiling in memory as before.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { Ajv, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
// A CommonJS module whose export is the function itself (ajv/dist/standalone/index.d.ts).
const standaloneCode = require('ajv/dist/standalone/index.js') as (ajv: Ajv, refs: Record<string, string>) => string;

const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/schakel/', import.meta.url));

/** What the generated code calls besides ajv's runtime: passed in, never read from the cache. */
export type ScopeFunctions = Readonly<Record<string, (...args: never[]) => unknown>>;

/** The cache key of a schema: its content, the ajv version and the generator's own version. */
export function cacheKey(schema: unknown, generator: string): string {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  return createHash('sha256').update(JSON.stringify(schema)).update(ajvVersion).update(generator).digest('hex').slice(0, 24);
}

const codeFile = (key: string): string => join(CACHE_DIR, `fhir-schema-${key}.cjs`);
const v8File = (key: string): string => join(CACHE_DIR, `fhir-schema-${key}.v8`);

/** The cache's files for a key (the generated code and V8's code cache for it). */
export function cacheFiles(key: string): { code: string; v8: string } {
  return { code: codeFile(key), v8: v8File(key) };
}

/** Writes a file whole or not at all (another process may read it at the same moment). */
function writeAtomically(path: string, content: string | Buffer): void {
  const work = `${path}.${randomBytes(6).toString('hex')}`;
  writeFileSync(work, content);
  renameSync(work, path);
}

/**
 * Loads the validators of a previous compile from the cache; undefined when there are none.
 * `scope` supplies the functions the generated code refers to as `scope.<name>`.
 */
export function loadCompiled(key: string, scope: ScopeFunctions): Map<string, ValidateFunction> | undefined {
  let source: string;
  try {
    source = readFileSync(codeFile(key), 'utf8');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(v8File(key));
  } catch {
    cachedData = undefined;
  }
  try {
    const script = new vm.Script(`(function (exports, require, scope) {${source}\n})`, {
      filename: codeFile(key),
      ...(cachedData ? { cachedData } : {}),
    });
    const exports: Record<string, ValidateFunction> = {};
    (script.runInThisContext() as (e: object, r: NodeJS.Require, s: ScopeFunctions) => void)(exports, require, scope);
    if (!cachedData || script.cachedDataRejected) {
      tryWrite(v8File(key), script.createCachedData());
    }
    return new Map(Object.entries(exports));
  } catch {
    return undefined;
  }
}

/** Stores the standalone code of the named schemas of a compiled ajv instance (best effort). */
export function storeCompiled(key: string, ajv: Ajv, refs: Readonly<Record<string, string>>): void {
  let code: string;
  try {
    code = standaloneCode(ajv, { ...refs });
  } catch {
    return;
  }
  tryWrite(codeFile(key), code);
}

function tryWrite(path: string, content: string | Buffer): void {
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeAtomically(path, content);
  } catch {
    // A read-only install compiles in memory at each start: slower, not wrong.
  }
}
