/** Liveness and readiness for orchestrators: /healthz never touches the database, /readyz does. */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../storage/database.js';

export function registerHealthRoutes(app: FastifyInstance, db: Database): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await db.query('SELECT 1');
      return { status: 'ready', database: db.engine };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: db.engine });
    }
  });
}
