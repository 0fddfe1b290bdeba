/** Liveness and readiness for orchestrators: /healthz never touches the database, /readyz does. */
import type { FastifyInstance } from 'fastify';
import { faultReason, isConnectionFault } from '../storage/connection-faults.js';
import type { Database } from '../storage/database.js';

export function registerHealthRoutes(app: FastifyInstance, db: Database): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // 503 with a reason while the database is away, so a load balancer sends requests elsewhere;
  // 200 again as soon as a fresh connection works (the pool reconnects by itself).
  app.get('/readyz', async (_request, reply) => {
    try {
      await db.query('SELECT 1');
      return { status: 'ready', database: db.engine };
    } catch (error) {
      const reason = isConnectionFault(error) ? faultReason(error) : 'database check failed';
      return reply.code(503).send({ status: 'unavailable', database: db.engine, reason });
    }
  });
}
