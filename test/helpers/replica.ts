/**
 * A PostgreSQL primary and a streaming replica made from it with `pg_basebackup -R`, each on a
 * free port on 127.0.0.1 in a temporary folder, for the read-replica tests. Independent of the
 * engine the rest of the suite runs on. initdb refuses to run as root, so as root (CI) the servers
 * run as the postgres user, as scripts/throwaway-postgres.sh does.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The newest PostgreSQL server binaries with pg_basebackup, or undefined on a machine without. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => join(root, v, 'bin')).find((bin) => ['initdb', 'pg_ctl', 'pg_basebackup'].every((tool) => existsSync(join(bin, tool))));
}

const isRoot = process.getuid?.() === 0;

async function asOwner(bin: string, tool: string, args: readonly string[]): Promise<void> {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), [...args]];
  await run(file, argv, { timeout: 120_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ReplicatedCluster {
  readonly primaryUrl: string;
  readonly replicaUrl: string;
  /** Runs one statement on the replica with a connection of its own. */
  onReplica(sql: string): Promise<void>;
  /** Stops the replica server (fast shutdown); the primary keeps running. */
  stopReplica(): Promise<void>;
  /** Stops both servers and removes their folders. */
  stop(): Promise<void>;
}

/** Starts the pair; the caller stops it (after closing its connections). */
export async function startReplicatedCluster(bin: string): Promise<ReplicatedCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'schakel-replica-'));
  chmodSync(dir, 0o755);
  if (isRoot) {
    await run('chown', ['postgres', dir]);
  }
  const primaryData = join(dir, 'primary');
  const replicaData = join(dir, 'replica');
  const started: string[] = [];
  const stop = async (): Promise<void> => {
    for (const data of started.reverse()) {
      await asOwner(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const serverOptions = (port: number): string =>
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=100 -c fsync=off -c full_page_writes=off`;
  const start = async (data: string, port: number): Promise<void> => {
    started.push(data);
    await asOwner(bin, 'pg_ctl', ['-D', data, '-l', `${data}.log`, '-w', '-t', '60', '-o', serverOptions(port), 'start']);
  };

  try {
    return await replicatedPair(bin, primaryData, replicaData, start, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function replicatedPair(
  bin: string,
  primaryData: string,
  replicaData: string,
  start: (data: string, port: number) => Promise<void>,
  stop: () => Promise<void>
): Promise<ReplicatedCluster> {
  await asOwner(bin, 'initdb', ['-D', primaryData, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale']);
  // Replication connections over TCP from this machine (wal_level replica is the default).
  appendFileSync(join(primaryData, 'pg_hba.conf'), '\nhost replication postgres 127.0.0.1/32 trust\n');
  const primaryPort = await freePort();
  await start(primaryData, primaryPort);
  // -R writes standby.signal and primary_conninfo: the copy starts as a streaming hot standby.
  await asOwner(bin, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaData, '-R', '-X', 'stream']);
  const replicaPort = await freePort();
  await start(replicaData, replicaPort);

  const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`;
  return {
    primaryUrl: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`,
    replicaUrl,
    async onReplica(sql: string): Promise<void> {
      const client = new pg.Client({ connectionString: replicaUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async stopReplica(): Promise<void> {
      await asOwner(bin, 'pg_ctl', ['-D', replicaData, '-m', 'fast', '-w', 'stop']);
    },
    stop,
  };
}
