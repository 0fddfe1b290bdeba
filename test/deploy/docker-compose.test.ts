import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';

t.test('docker-compose.yml runs Schakel against PostgreSQL', async (t) => {
  const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'));
  t.ok(compose.services.postgres, 'a postgres service');
  t.match(compose.services.postgres.image, /^postgres:/);
  const app = compose.services.schakel;
  t.ok(app, 'a schakel service');
  t.match(app.environment.DATABASE_URL, /^postgres:\/\/[^@]+@postgres:5432\//, 'the app points at the postgres service');
  t.equal(app.depends_on.postgres.condition, 'service_healthy');
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  t.ok(dockerfile.includes('src/server.ts'), 'the image runs the server');
  // The image is production (NODE_ENV): the stack must either be the demo or bring its keys.
  const env = app.environment as Record<string, string>;
  t.ok(env.SCHAKEL_MODE === 'development' || (env.AUTH_CLIENTS_FILE && env.AUTH_SIGNING_KEY_FILE), 'the server can start: demo mode or configured keys');
  t.ok(app.volumes.some((v: string) => v.endsWith(`:${env.DATA_DIR}`)), 'DATA_DIR (demo keys) is a volume');
  t.match(dockerfile, /chown node:node \/app\/data/, 'and writable for the node user');
  t.ok(dockerfile.includes('COPY scripts'), 'npm run token works inside the container');
});
