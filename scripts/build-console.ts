/**
 * Builds the professionals' console (console/, a SMART app in the browser) into dist/console:
 * one minified ES module and one stylesheet, each named by its content hash so they can be cached
 * for a year, and an index.html naming them (served with no-cache, src/http/console-route.ts).
 * `npm run build` and `npm install` (prepare) run it; `--entry <file> --out <dir>` builds another
 * entry (the browser tests' entry, test/console/) the same way.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');

export interface ConsoleBuild {
  readonly outDir: string;
  readonly script: string;
  readonly stylesheet: string | undefined;
  /** Bytes of every asset after gzip (what a browser downloads). */
  readonly compressedBytes: number;
}

export async function buildConsole(entry = join(ROOT, 'console', 'main.ts'), outDir = join(ROOT, 'dist', 'console')): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  const assets = join(outDir, 'assets');
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: { main: entry },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: assets,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => join(process.cwd(), path));
  const script = outputs.find((p) => p.endsWith('.js'));
  const stylesheet = outputs.find((p) => p.endsWith('.css'));
  if (script === undefined) {
    throw new Error('esbuild wrote no script');
  }
  const tags = [
    ...(stylesheet ? [`<link rel="stylesheet" href="assets/${basename(stylesheet)}">`] : []),
    `<script type="module" src="assets/${basename(script)}"></script>`,
  ].join('\n    ');
  const html = readFileSync(join(ROOT, 'console', 'index.html'), 'utf8').replace('<!-- assets -->', tags);
  writeFileSync(join(outDir, 'index.html'), html);
  const compressedBytes = outputs.reduce((sum, p) => sum + gzipSync(readFileSync(p)).length, gzipSync(html).length);
  return { outDir, script: basename(script), stylesheet: stylesheet ? basename(stylesheet) : undefined, compressedBytes };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { entry: { type: 'string' }, out: { type: 'string' } } });
  const built = await buildConsole(values.entry, values.out);
  process.stdout.write(`console built in ${relative(process.cwd(), built.outDir) || '.'}: ${built.script}, ${Math.round(built.compressedBytes / 1024)} KB compressed\n`);
}
