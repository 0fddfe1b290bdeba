/**
 * `<NAME>_FILE`: a secret setting read from a file instead of the environment, the convention of
 * Docker and Kubernetes secrets (mounted under /run/secrets/), so that a password never shows in
 * `docker inspect`, `ps e` or a compose file. The official postgres image reads
 * POSTGRES_PASSWORD_FILE the same way.
 */
import { readFileSync } from 'node:fs';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The settings that may come from a file. Only these: AUTH_CLIENTS_FILE and AUTH_SIGNING_KEY_FILE
 * already name files of their own, and must not be read as "AUTH_CLIENTS from a file".
 */
export const SECRET_SETTINGS = ['DATABASE_URL', 'DATABASE_READ_URL', 'METRICS_TOKEN', 'EXPORT_PSEUDONYM_KEY'] as const;

/**
 * The environment with each `<NAME>_FILE` of SECRET_SETTINGS replaced by the file's content as
 * `<NAME>` (one trailing line break dropped: editors and `echo` add it). Setting both is refused,
 * as is a file that cannot be read; `fail` receives the message, which names the variable and
 * the path but never the content.
 */
export function withSecretFiles(env: Env, fail: (message: string) => Error): Env {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_SETTINGS) {
    const path = env[`${name}_FILE`];
    if (path === undefined || path === '') {
      continue;
    }
    if (env[name] !== undefined && env[name] !== '') {
      throw fail(`${name} and ${name}_FILE are both set; set one`);
    }
    let content: string;
    try {
      content = readFileSync(path, 'utf8');
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
      throw fail(`${name}_FILE: cannot read ${path} (${code})`);
    }
    resolved[name] = content.replace(/\r?\n$/, '');
  }
  return resolved;
}
