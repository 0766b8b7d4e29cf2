// `detour presets [--json]`: the built-in table, straight from the data in presets.ts.
import { PRESETS } from './presets.js';

export function presetsJson(): string {
  const data = PRESETS.map((p) => ({
    name: p.name,
    description: p.description,
    hosts: p.routes.map((r) => r.host + r.pathPrefix),
    defaultChain: p.defaultChain,
    ...(p.optIn ? { optIn: true } : {}),
    mirrors: p.mirrors,
    ...(p.exhaustedStatus ? { exhaustedStatus: p.exhaustedStatus } : {}),
  }));
  return JSON.stringify(data, null, 2) + '\n';
}

export function presetsText(): string {
  const lines: string[] = [];
  for (const p of PRESETS) {
    lines.push(`${p.name}  ${p.description}`);
    lines.push(`  hosts:   ${p.routes.map((r) => r.host + r.pathPrefix).join(', ')}`);
    lines.push(`  default: ${p.defaultChain}${p.optIn ? ` (opt-in: only with -m ${p.name})` : ''}`);
    for (const [name, url] of Object.entries(p.mirrors)) lines.push(`  ${name.padEnd(12)} ${url}`);
    lines.push('');
  }
  return lines.join('\n');
}
