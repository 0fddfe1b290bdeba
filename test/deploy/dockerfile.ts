/**
 * A small reader of the repository's Dockerfile for the deploy tests: its build stages and their
 * instructions (line continuations joined, comments dropped), and exec-form arguments as arrays.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARG values declared before the first FROM (their defaults). */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

export const DOCKERFILE_URL = new URL('../../Dockerfile', import.meta.url);

export function readDockerfile(url: URL = DOCKERFILE_URL): Dockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const line of readFileSync(url, 'utf8').split('\n')) {
    if (/^\s*#/.test(line) && pending === '') {
      continue;
    }
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole !== '') {
      logical.push(whole);
    }
  }
  const globalArgs: Record<string, string> = {};
  const stages: Array<{ image: string; name: string | undefined; instructions: Instruction[] }> = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const args = match?.[2] ?? '';
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      const resolved = image.replace(/^\$\{(\w+)\}$|^\$(\w+)$/, (_m, a?: string, b?: string) => globalArgs[a ?? b ?? ''] ?? '');
      stages.push({ image: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name = '', value = ''] = args.split('=');
      globalArgs[name.trim()] = value.trim();
    } else {
      stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return { globalArgs, stages };
}

/** The arguments of an exec-form instruction (`CMD ["node", "x.js"]`); undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  const json = args.replace(/^--\S+\s+/g, '');
  if (!json.startsWith('[')) {
    return undefined;
  }
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
}

/** The last instruction of a kind in a stage. */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** The command a HEALTHCHECK runs: `HEALTHCHECK --interval=... CMD ["node", ...]`. */
export function healthcheckCommand(stage: Stage): string[] | undefined {
  const check = last(stage, 'HEALTHCHECK');
  const cmd = check && /\bCMD\s+(.*)$/.exec(check.args)?.[1];
  return cmd ? execForm(cmd) : undefined;
}

/** `COPY [--from=x] src... dest` of a stage, split into from, sources and destination. */
export function copies(stage: Stage): Array<{ from: string | undefined; sources: string[]; dest: string }> {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
    });
}
