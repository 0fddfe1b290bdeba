/** Reading a Prometheus text exposition (/metrics) in tests. */

/** The value of one series with exactly these labels, undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const pairs = open === -1 || open > name.length ? {} : Object.fromEntries([...line.slice(open + 1, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => (pairs as Record<string, string>)[k] === v) && Object.keys(pairs).length === Object.keys(labels).length) {
      return Number(line.slice((close === -1 || open > name.length ? name.length : close + 1)).trim());
    }
  }
  return undefined;
}
