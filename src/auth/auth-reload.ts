/**
 * Picks up a changed signing key file (a rotation, signing-keys.ts) and clients file (a client
 * registered or removed, clients.ts) without a restart. Each file is polled by its status
 * (fs.watchFile): that sees a file replaced by rename, as the tools write it, and works on shared
 * volumes where change notifications of other hosts never arrive. SIGHUP reloads both at once.
 *
 * A file that does not load keeps what is in use and logs an error: the new registry or key ring
 * is built completely first and only then swapped in, so no request ever sees half of one.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { AuthConfig } from '../config/config.js';
import { ClientRegistry } from './clients.js';
import type { AuthSetup } from './service.js';
import { readSigningKeys } from './signing-keys.js';

export interface ReloadLog {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface AuthReloadOptions {
  readonly config: AuthConfig;
  /** Production refuses demo clients on a reload as at start (setup.ts). */
  readonly mode: 'development' | 'production';
  readonly log: ReloadLog;
}

export class AuthReload {
  private readonly watched: string[] = [];
  private readonly onHangup = (): void => {
    void this.reloadAll();
  };

  constructor(
    private readonly setup: AuthSetup,
    private readonly options: AuthReloadOptions
  ) {}

  /** Starts polling the configured files and listening for SIGHUP; nothing without files. */
  start(): void {
    const { signingKeyFile, clientsFile, reloadIntervalSeconds } = this.options.config;
    if (signingKeyFile !== undefined) {
      this.setup.signingKeys.setRefresher(async () => {
        await this.reloadKeys();
      });
    }
    if (reloadIntervalSeconds > 0) {
      this.watch(signingKeyFile, () => this.reloadKeys());
      this.watch(clientsFile, () => this.reloadClients());
    }
    if (signingKeyFile !== undefined || clientsFile !== undefined) {
      process.on('SIGHUP', this.onHangup);
    }
  }

  stop(): void {
    process.off('SIGHUP', this.onHangup);
    this.setup.signingKeys.setRefresher(undefined);
    for (const path of this.watched.splice(0)) {
      unwatchFile(path);
    }
  }

  async reloadAll(): Promise<void> {
    await this.reloadKeys();
    await this.reloadClients();
  }

  /** Loads the key file; true when the ring in use was replaced. */
  async reloadKeys(): Promise<boolean> {
    const { signingKeyFile, signingAlgorithm } = this.options.config;
    if (signingKeyFile === undefined) {
      return false;
    }
    try {
      const next = await readSigningKeys(signingKeyFile, signingAlgorithm);
      const before = this.setup.signingKeys.all.map((k) => k.kid).join(' ');
      this.setup.signingKeys.replaceWith(next);
      if (next.all.map((k) => k.kid).join(' ') !== before) {
        this.options.log.info({ kids: next.all.map((k) => k.kid) }, 'signing keys reloaded');
      }
      return true;
    } catch (error) {
      this.options.log.error({ file: signingKeyFile, problem: messageOf(error) }, 'the signing key file did not load; the keys in use stay');
      return false;
    }
  }

  /** Loads the clients file; true when the registry in use was replaced. */
  async reloadClients(): Promise<boolean> {
    const { clientsFile } = this.options.config;
    if (clientsFile === undefined) {
      return false;
    }
    try {
      const next = ClientRegistry.fromFile(clientsFile);
      if (this.options.mode === 'production' && next.all().some((c) => c.registration.demo === true)) {
        throw new Error('production mode refuses demo clients');
      }
      this.setup.clients.replaceWith(next);
      this.options.log.info({ clients: next.all().length }, 'client registry reloaded');
      return true;
    } catch (error) {
      this.options.log.error({ file: clientsFile, problem: messageOf(error) }, 'the clients file did not load; the registry in use stays');
      return false;
    }
  }

  private watch(path: string | undefined, reload: () => Promise<boolean>): void {
    if (path === undefined) {
      return;
    }
    this.watched.push(path);
    // Stats with mtime 0 mean the file is gone (being replaced): wait for it to be back.
    watchFile(path, { interval: this.options.config.reloadIntervalSeconds * 1000, persistent: false }, (current: Stats) => {
      if (current.mtimeMs !== 0) {
        void reload();
      }
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
