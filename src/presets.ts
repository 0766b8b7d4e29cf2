// The preset registry over src/ecosystems/: look-ups by name and by origin host. The data lives in the modules.
import { ECOSYSTEMS } from './ecosystems/index.js';
import type { Ecosystem, PresetRoute } from './ecosystems/types.js';

export type { PresetRoute } from './ecosystems/types.js';
export type Preset = Ecosystem;

export const PRESETS: readonly Preset[] = ECOSYSTEMS;

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

/** The preset route for an origin host, so a raw rule on a preset's host keeps its privacy guard. */
export function presetRouteFor(host: string): PresetRoute | undefined {
  for (const p of PRESETS) for (const r of p.routes) if (r.host === host) return r;
  return undefined;
}
