// The ecosystems detour knows, in the order `detour presets` lists them and `-m` with no value enables them.
// The only file that names them: adding an ecosystem is one module beside this file, its tests, one line here.
import { composer } from './composer.js';
import { crates } from './crates.js';
import { debian } from './debian.js';
import { docker } from './docker.js';
import { gems } from './gems.js';
import { github } from './github.js';
import { go } from './go.js';
import { hf } from './hf.js';
import { maven } from './maven.js';
import { npm } from './npm.js';
import { pypi } from './pypi.js';
import type { Ecosystem, EcosystemRun, Serves } from './types.js';

export const ECOSYSTEMS: readonly Ecosystem[] = [go, npm, pypi, crates, hf, github, gems, composer, debian, maven, docker];

/** Patterns the parent's environment sends direct, over every ecosystem (Go: GOPRIVATE, GONOPROXY). */
export function inheritedDirect(parentEnv: NodeJS.ProcessEnv): string[] {
  return ECOSYSTEMS.flatMap((e) => e.directPatterns?.(parentEnv) ?? []);
}

export interface PreparedEcosystem {
  readonly name: string;
  readonly run: EcosystemRun;
}

/** Every ecosystem's part in this run, enabled or not (a child's tool reads its own settings either way). */
export function prepareEcosystems(parentEnv: NodeJS.ProcessEnv, serves: Serves): PreparedEcosystem[] {
  return ECOSYSTEMS.map((e) => ({ name: e.name, run: e.prepare?.(parentEnv, serves) ?? {} }));
}
