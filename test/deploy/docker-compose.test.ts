import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { copies, execForm, healthcheckCommand, last, readDockerfile } from './dockerfile.js';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
}

interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
}

const repo = new URL('../../', import.meta.url);
// `<<: *schakel-node` (YAML merge keys) is how the nodes share their settings; Compose reads them.
const compose = parse(readFileSync(new URL('docker-compose.yml', repo), 'utf8'), { merge: true }) as Compose;
const dockerfile = readDockerfile();
const runtime = dockerfile.stages.at(-1);

/** Services that run the Schakel image. */
function nodes(profile: string | undefined): Array<[string, Service]> {
  return Object.entries(compose.services).filter(
    ([, s]) => s.build !== undefined && (profile === undefined ? s.profiles === undefined : s.profiles?.includes(profile))
  );
}

function secretFile(name: string): string {
  const secret = compose.secrets[name];
  if (!secret) {
    throw new Error(`no secret ${name}`);
  }
  return readFileSync(new URL(secret.file, repo), 'utf8').replace(/\n$/, '');
}

t.test('the Dockerfile builds in one stage and runs the compiled server in another', async (t) => {
  t.ok(runtime, 'a runtime stage');
  if (!runtime) return;
  t.ok(dockerfile.stages.length >= 2, 'multi-stage');
  const build = dockerfile.stages[0];
  t.ok(build?.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && !/omit=dev/.test(i.args)), 'build: npm ci with dev dependencies');
  t.ok(build?.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args)), 'build: npm run build');
  t.ok(runtime.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)), 'runtime: production dependencies only');
  t.ok(copies(runtime).some((c) => c.from === build?.name && c.sources.includes('/app/dist')), 'runtime takes dist/ from the build stage');
  t.same(execForm(last(runtime, 'CMD')?.args ?? ''), ['node', '--enable-source-maps', '--import', './dist/tracing/register.js', 'dist/server.js'], 'plain node on compiled JavaScript, no tsx, with the tracing preload');
  t.ok(copies(runtime).some((c) => c.sources.includes('scripts')), 'npm run token works inside the container');
});

t.test('the image runs on a pinned Node LTS of 22 or later, as a non-root user, in production mode', async (t) => {
  for (const stage of dockerfile.stages) {
    const match = /^node:(\d+)\.(\d+)\.(\d+)-/.exec(stage.image);
    t.ok(match, `${stage.image} names an exact Node version`);
    const major = Number(match?.[1]);
    t.ok(major >= 22 && major % 2 === 0, `Node ${major} is an LTS line (even) of 22 or later`);
  }
  if (!runtime) return;
  const user = last(runtime, 'USER')?.args;
  t.ok(user !== undefined && user !== 'root' && user !== '0', `runs as ${user}`);
  t.ok(runtime.instructions.some((i) => i.keyword === 'ENV' && /\bNODE_ENV=production\b/.test(i.args)), 'NODE_ENV=production');
  t.ok(runtime.instructions.some((i) => i.keyword === 'RUN' && /chown node:node \/app\/data/.test(i.args)), 'DATA_DIR writable for the node user');
});

t.test('the image has a HEALTHCHECK that asks /healthz without curl', async (t) => {
  if (!runtime) return;
  const command = healthcheckCommand(runtime);
  t.equal(command?.[0], 'node', 'node itself, since slim images have no curl');
  t.match(command?.join(' ') ?? '', /\/healthz/);
});

t.test('docker-compose.yml runs Schakel against a pinned PostgreSQL, with its secrets in files', async (t) => {
  const postgres = compose.services['postgres'];
  t.match(postgres?.image, /^postgres:\d+\.\d+/, 'a pinned minor version of PostgreSQL');
  t.ok(Number(/^postgres:(\d+)/.exec(postgres?.image ?? '')?.[1]) >= 15, 'PostgreSQL 15 or later');
  t.ok(postgres?.healthcheck, 'postgres has a healthcheck');
  t.equal(postgres?.environment?.['POSTGRES_PASSWORD'], undefined, 'no password in the compose file');
  t.equal(postgres?.environment?.['POSTGRES_PASSWORD_FILE'], '/run/secrets/postgres_password');
  const [[, app] = ['', {}]] = nodes(undefined);
  const env = app.environment ?? {};
  t.equal(env['DATABASE_URL'], undefined, 'no connection string in the environment');
  t.equal(env['DATABASE_URL_FILE'], '/run/secrets/database_url');
  t.ok(app.secrets?.includes('database_url'));
  t.match(secretFile('database_url'), /^postgres:\/\/[^@]+@postgres:5432\//, 'the secret points at the postgres service');
  const password = decodeURIComponent(new URL(secretFile('database_url')).password);
  t.equal(password, secretFile('postgres_password'), 'the database password and the connection string agree');
  t.equal(app.depends_on?.['postgres']?.condition, 'service_healthy');
  t.ok(app.healthcheck, 'the node has a healthcheck');
  t.match(JSON.stringify(app.healthcheck?.test), /\/readyz/, 'ready means the database answers');
});

t.test('PUBLIC_BASE_URL is set, so discovery and links do not say localhost of the container', async (t) => {
  for (const [name, node] of [...nodes(undefined), ...nodes('scale')]) {
    const value = node.environment?.['PUBLIC_BASE_URL'] ?? '';
    t.match(value, /^\$\{PUBLIC_BASE_URL:-https?:\/\/[^}]+\/fhir\}$/, `${name}: set, and overridable for another host name`);
    t.match(value, new RegExp(`${node.environment?.['BASE_PATH']}\\}$`), `${name}: ends in BASE_PATH`);
  }
});

t.test('the demo stack can start: demo mode, or configured keys', async (t) => {
  for (const [name, node] of nodes(undefined)) {
    const env = node.environment ?? {};
    t.ok(env['SCHAKEL_MODE'] === 'development' || (env['AUTH_CLIENTS_FILE'] && env['AUTH_SIGNING_KEY_FILE']), name);
    t.ok(node.volumes?.some((v) => v.endsWith(`:${env['DATA_DIR']}`)), 'DATA_DIR (demo keys) is a volume');
  }
});

t.test('the scale profile runs two Schakel nodes behind a round-robin proxy that passes X-Forwarded-For', async (t) => {
  const scaled = [...nodes(undefined), ...nodes('scale')].map(([name]) => name);
  t.equal(scaled.length, 2, `two nodes: ${scaled.join(', ')}`);
  const volumes = new Set([...nodes(undefined), ...nodes('scale')].map(([, s]) => JSON.stringify(s.volumes)));
  t.equal(volumes.size, 1, 'the nodes share the demo keys, so a token of one is valid on the other');
  const proxy = Object.entries(compose.services).find(([, s]) => s.profiles?.includes('scale') && /^(nginx|haproxy):\d/.test(s.image ?? ''));
  t.ok(proxy, 'a proxy with a pinned image in the scale profile');
  if (!proxy) return;
  const [, service] = proxy;
  for (const name of scaled) {
    t.equal(service.depends_on?.[name]?.condition, 'service_healthy', `the proxy waits for ${name}`);
  }
  const mount = service.volumes?.find((v) => v.includes('nginx.conf'))?.split(':')[0] ?? '';
  const conf = readFileSync(new URL(mount, repo), 'utf8');
  const upstream = /upstream\s+\w+\s*\{([^}]*)\}/.exec(conf)?.[1] ?? '';
  t.same(
    [...upstream.matchAll(/^\s*server\s+([\w-]+):8080\b/gm)].map((m) => m[1]),
    scaled,
    'the upstream lists both nodes'
  );
  t.notMatch(upstream, /\b(ip_hash|hash|least_conn|random)\b/, 'round robin (the default balancing)');
  t.match(conf, /proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;/);
  t.match(conf, /client_max_body_size\s+50m;/, 'the proxy accepts what BODY_LIMIT accepts');
  const format = /log_format\s+\w+([^;]*);/.exec(conf)?.[1] ?? '';
  t.ok(format !== '', 'an own access-log format');
  t.notMatch(format, /\$(request|request_uri|uri|args|query_string|http_authorization)\b/, 'no URL, query or token in the access log');
});

t.test('every secret the stack names has a file', async (t) => {
  for (const name of Object.keys(compose.secrets)) {
    t.ok(secretFile(name).length > 0, name);
  }
});
