/** Liveness and readiness for orchestrators: /healthz never touches the database, /readyz does. */
import type { FastifyInstance } from 'fastify';
import { capacityFault } from '../storage/capacity-faults.js';
import { faultReason, isConnectionFault } from '../storage/connection-faults.js';
import type { Database } from '../storage/database.js';

export function registerHealthRoutes(app: FastifyInstance, db: Database): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // 503 with a reason while the database is away or cannot store (a full disk, a read-only
  // server), so a load balancer sends requests elsewhere; 200 again as soon as a fresh
  // connection works and writes would be taken (the pool reconnects by itself, the disk check
  // looks again on every write).
  app.get('/readyz', async (_request, reply) => {
    try {
      const refused = await db.writesRefused?.();
      const [row] = await db.query<{ read_only: string }>("SELECT current_setting('transaction_read_only') AS read_only");
      const reason = refused ?? (row?.read_only === 'on' ? 'database is read-only' : undefined);
      if (reason) {
        return reply.code(503).send({ status: 'unavailable', database: db.engine, reason });
      }
      // A replica that is down or behind only moves reads to the primary: still ready.
      const replica = await db.reads?.status();
      return { status: 'ready', database: db.engine, ...(replica !== undefined ? { replica } : {}) };
    } catch (error) {
      const reason = isConnectionFault(error) ? faultReason(error) : (capacityFault(error) ?? 'database check failed');
      return reply.code(503).send({ status: 'unavailable', database: db.engine, reason });
    }
  });
}
