/**
 * `npm run profiles`: regenerates the snapshot of every StructureDefinition in profiles/ from its
 * differential and writes the files that changed. `npm run profiles -- --check` writes nothing and
 * fails when a committed snapshot differs from the generated one (the test suite checks the same).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProfile, regenerateProfiles } from './regenerate.js';

const dir = process.argv.find((arg, i) => i > 1 && !arg.startsWith('--')) ?? fileURLToPath(new URL('../../profiles/', import.meta.url));
const check = process.argv.includes('--check');

let stale = 0;
for (const { file, text, generated } of regenerateProfiles(dir)) {
  const formatted = formatProfile(generated);
  if (formatted === text) {
    continue;
  }
  stale++;
  if (check) {
    console.error(`${file}: snapshot is not the generated one (run npm run profiles)`);
  } else {
    writeFileSync(join(dir, file), formatted);
    console.log(`${file}: snapshot regenerated (${generated.snapshot?.element.length ?? 0} elements)`);
  }
}
if (check && stale > 0) {
  process.exit(1);
}
console.log(check ? 'All snapshots are up to date' : `${stale} profile(s) written`);
