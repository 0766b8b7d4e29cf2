// The go command's own settings file (`go env -w`): a GOPRIVATE kept there is as private as one in the
// environment, and an environment variable detour sets would hide it from go. Read once, never written.
import { readFileSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/** os.UserConfigDir()/go/env, or $GOENV; GOENV=off means none. */
function goEnvPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GOENV === 'off') return undefined;
  if (env.GOENV) return env.GOENV;
  const home = env.HOME || homedir();
  const config = platform() === 'darwin' ? join(home, 'Library', 'Application Support') : env.XDG_CONFIG_HOME || join(home, '.config');
  return join(config, 'go', 'env');
}

function readGoEnvFile(env: NodeJS.ProcessEnv): Record<string, string> {
  const file = goEnvPath(env);
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** A go setting as the go command would see it: the environment first, then its env file. */
export function goSettings(env: NodeJS.ProcessEnv): (name: 'GOPRIVATE' | 'GONOPROXY' | 'GONOSUMDB') => string | undefined {
  let file: Record<string, string> | undefined;
  return (name) => env[name] ?? (file ??= readGoEnvFile(env))[name];
}
