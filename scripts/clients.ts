/**
 * The registered clients file (AUTH_CLIENTS_FILE, src/auth/clients.ts), checked with the very
 * checks the server runs when it loads the file:
 *
 *   npm run clients -- add <entry.json> [--file <path>]   validates one client entry and adds it
 *   npm run clients -- add --json '<entry>' [--file <path>]
 *   npm run clients -- check [--file <path>]               validates the whole file; exit 1 with every problem
 *   npm run clients -- list [--file <path>]                client ids, key source, scopes, organisations
 *
 * `add` writes the file by replacing it in one rename, so a server never reads half of it; running
 * servers take the new client up within AUTH_RELOAD_INTERVAL_SECONDS or on SIGHUP.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ClientRegistry, parseClientsFile, registrationProblem, type ClientRegistration } from '../src/auth/clients.js';
import { writeFileAtomically } from '../src/auth/signing-keys.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function readClients(path: string): ClientRegistration[] {
  const parsed = parseClientsFile(readFileSync(path, 'utf8'));
  if ('problems' in parsed) {
    fail(`${path} is not valid:\n${parsed.problems.map((p) => `  ${p}`).join('\n')}`);
  }
  return parsed.clients;
}

function readEntry(argument: string | undefined, json: string | undefined): unknown {
  const text = json ?? (argument === undefined ? undefined : readFileSync(argument, 'utf8'));
  if (text === undefined) {
    fail('add needs the entry: a file name or --json \'{...}\'');
  }
  try {
    return JSON.parse(text);
  } catch {
    fail('the client entry is not JSON');
  }
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { file: { type: 'string' }, json: { type: 'string' } } });
  const path = values.file ?? process.env['AUTH_CLIENTS_FILE'];
  if (path === undefined || path === '') {
    fail('name the clients file: --file <path> or AUTH_CLIENTS_FILE');
  }
  const [command, argument] = positionals;
  if (command === 'check') {
    if (!existsSync(path)) {
      fail(`${path} does not exist`);
    }
    const clients = readClients(path);
    // The server's own constructor, so `check` passes exactly when a server would load the file.
    ClientRegistry.fromText(readFileSync(path, 'utf8'), path);
    process.stdout.write(`${path}: ${clients.length} client(s), valid\n`);
    return;
  }
  if (command === 'list') {
    for (const c of existsSync(path) ? readClients(path) : []) {
      const keys = c.jwks !== undefined ? `jwks(${c.jwks.keys.length})` : c.jwksUrl !== undefined ? `jwksUrl ${c.jwksUrl}` : `public ${(c.redirectUris ?? []).join(' ')}`;
      process.stdout.write(`${c.clientId}\t${keys}\t${c.scopes.join(' ')}\t${c.organizations.join(' ')}${c.demo === true ? '\tdemo' : ''}\n`);
    }
    return;
  }
  if (command === 'add') {
    const entry = readEntry(argument, values.json);
    const problem = registrationProblem(entry);
    if (problem !== undefined) {
      fail(`the client entry is not valid: ${problem}`);
    }
    const registration = entry as ClientRegistration;
    const clients = existsSync(path) ? readClients(path) : [];
    if (clients.some((c) => c.clientId === registration.clientId)) {
      fail(`client "${registration.clientId}" is already registered in ${path}`);
    }
    const text = `${JSON.stringify({ clients: [...clients, registration] }, undefined, 2)}\n`;
    ClientRegistry.fromText(text, path);
    writeFileAtomically(path, text, 0o644);
    process.stdout.write(`added ${registration.clientId} to ${path} (${clients.length + 1} client(s))\n`);
    return;
  }
  fail('usage: npm run clients -- add <entry.json>|--json <entry> | check | list [--file <path>]');
}

try {
  main();
} catch (error) {
  fail(`npm run clients failed: ${error instanceof Error ? error.message : String(error)}`);
}
