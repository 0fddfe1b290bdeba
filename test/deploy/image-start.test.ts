/**
 * The image's build and start, without Docker (CI has no daemon): the Dockerfile's build stage is
 * replayed in a temporary folder (its COPY lines, then its RUN lines but `npm ci`, with the
 * checkout's node_modules), the runtime stage's COPY lines lay out the image's /app, and its CMD
 * and HEALTHCHECK run there as the container would run them. The compiled server runs on PGlite
 * in a temporary DATA_DIR whatever engine the other tests use: the image decides nothing there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { copies, execForm, healthcheckCommand, last, readDockerfile, type Stage } from './dockerfile.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readDockerfile();
const build = dockerfile.stages[0];
const runtime = dockerfile.stages.at(-1);
const WORKDIR = '/app';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Carries out a stage's COPY lines into `root` (the stage's WORKDIR /app). */
function layOut(stage: Stage, root: string, stageRoots: Record<string, string>): void {
  for (const copy of copies(stage)) {
    for (const source of copy.sources) {
      const from = copy.from === undefined ? join(repo, source) : join(stageRoots[copy.from] ?? '', source.replace(`${WORKDIR}/`, ''));
      const into = copy.dest.endsWith('/') ? join(root, copy.dest, basename(source)) : join(root, copy.dest);
      cpSync(from, into, { recursive: true });
    }
  }
  // `npm ci` in the image; here the checkout's install (it also holds the dev dependencies).
  symlinkSync(realpathSync(join(repo, 'node_modules')), join(root, 'node_modules'));
}

async function waitForHealth(url: string, child: ChildProcess, seconds: number): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until && child.exitCode === null) {
    try {
      if ((await fetch(url)).ok) {
        return true;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Runs the HEALTHCHECK command as Docker would (exec form, the container's environment); its exit code. */
async function healthcheck(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file = '', ...args] = command;
  try {
    await run(file, args, { env, timeout: 10_000 });
    return 0;
  } catch (error) {
    return typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : -1;
  }
}

t.test('the Dockerfile builds dist/ and its CMD serves FHIR from it, with a working HEALTHCHECK', async (t) => {
  if (!build || !runtime) {
    t.fail('the Dockerfile has a build and a runtime stage');
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'schakel-image-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const buildRoot = join(tmp, 'build');
  const appRoot = join(tmp, 'app');
  mkdirSync(buildRoot);
  mkdirSync(appRoot);

  layOut(build, buildRoot, {});
  // Only npm's own steps are replayed on this machine; anything else in the build stage would be
  // skipped here unseen, so it must not be there.
  const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const steps = runs.filter((r) => /^npm run [\w:-]+$/.test(r));
  t.same(runs.filter((r) => !steps.includes(r) && !/^npm ci\b/.test(r)), [], 'the build stage runs only npm ci and npm run scripts');
  t.ok(steps.includes('npm run build'), 'the build stage runs npm run build');
  for (const step of steps) {
    await run('sh', ['-c', step], { cwd: buildRoot, env: { PATH: process.env['PATH'], HOME: tmp } });
  }

  layOut(runtime, appRoot, { [build.name ?? '0']: buildRoot });
  const data = join(tmp, 'data');
  mkdirSync(data);
  const tokenFile = join(tmp, 'metrics-token');
  writeFileSync(tokenFile, 'image-test-metrics-token\n');
  const port = await freePort();
  const imageEnv = Object.fromEntries(
    runtime.instructions
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split('=') as [string, string]))
  );
  t.equal(imageEnv['NODE_ENV'], 'production');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: tmp,
    ...imageEnv,
    // As docker-compose.yml runs it: the demo mode, a public URL, the metrics token as a secret file.
    SCHAKEL_MODE: 'development',
    DATA_DIR: data,
    PORT: String(port),
    HOST: '127.0.0.1',
    SEED_FIXTURES: 'false',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'https://schakel.example.test/fhir',
    METRICS_TOKEN_FILE: tokenFile,
  };
  const [command = '', ...args] = execForm(last(runtime, 'CMD')?.args ?? '') ?? [];
  const server = spawn(command, args, { cwd: appRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  const base = `http://127.0.0.1:${port}`;
  // A start takes a few seconds on an idle machine; a loaded CI runner may need far longer.
  // /healthz answers from the first second of a start (src/server.ts listens first); /readyz once it serves.
  const up = await waitForHealth(`${base}/readyz`, server, 180);
  t.ok(up, 'the compiled server becomes ready');
  if (!up) {
    t.comment(stderr.slice(-2000));
    return;
  }

  const check = healthcheckCommand(runtime) ?? [];
  t.equal(await healthcheck(check, env), 0, 'the HEALTHCHECK passes while the server runs');

  const metadata = await fetch(`${base}/fhir/metadata`, { headers: { accept: 'application/fhir+json' } });
  t.equal(metadata.status, 200);
  const capabilities = (await metadata.json()) as { resourceType: string; implementation?: { url?: string }; software?: { version?: string } };
  t.equal(capabilities.resourceType, 'CapabilityStatement');
  t.equal(capabilities.implementation?.url, 'https://schakel.example.test/fhir', 'the public URL, not localhost');
  t.match(capabilities.software?.version, /^\d+\.\d+\.\d+/, 'package.json found beside dist/');
  const discovery = (await (await fetch(`${base}/.well-known/smart-configuration`)).json()) as { token_endpoint?: string };
  t.equal(discovery.token_endpoint, 'https://schakel.example.test/auth/token', 'SMART discovery names the public host');

  t.equal((await fetch(`${base}/metrics`)).status, 401, 'METRICS_TOKEN_FILE protects /metrics');
  const metrics = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer image-test-metrics-token' } });
  t.equal(metrics.status, 200, 'with the token from the file');

  server.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops it cleanly');
  t.not(await healthcheck(check, env), 0, 'the HEALTHCHECK fails once the server is gone');
});
