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
  t.ok(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8').includes('src/server.ts'), 'the image runs the server');
});
