// Command line → Config → main. Only this file knows about exit codes for usage errors.
// The run path parses with yargs-parser (src/args.ts); full yargs is loaded only for help (src/help.ts), and
// main.ts (the proxy, the CA, node-forge) only once the command line has been accepted.
import { parseArgs, type Invocation } from './args.js';
import { ConfigError } from './errors.js';
import { redactCredentials } from './redact.js';
import type { Config } from './config.js';
import type { Flags } from './options.js';
import { packageVersion } from './version.js';


/** The merged config (loaded here: --version, --help and presets need none of it). -v names the files it came from. */
async function configured(flags: Flags): Promise<Config> {
  const { resolveConfig } = await import('./config.js');
  const config = resolveConfig(flags, process.env);
  if (config.verbose && config.files.length) process.stderr.write(`detour: config: ${config.files.join(', ')}\n`);
  return config;
}

async function main(inv: Invocation): Promise<number> {
  switch (inv.kind) {
    case 'version':
      process.stdout.write(packageVersion() + '\n');
      return 0;
    case 'help':
      await (await import('./help.js')).printHelp(inv.sub);
      return 0;
    case 'presets': {
      const { presetsJson, presetsText } = await import('./presetsTable.js');
      process.stdout.write(inv.json ? presetsJson() : presetsText());
      return 0;
    }
    case 'check': {
      const config = await configured(inv.flags);
      const { runCheck } = await import('./main.js');
      return runCheck(config, process.env, { json: inv.json });
    }
    case 'run': {
      const config = await configured(inv.flags);
      const { runCommand } = await import('./main.js');
      return runCommand(inv.command, inv.args, config, process.env);
    }
  }
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(redactCredentials(`detour: ${err.message.split('\n')[0]}`) + '\n');
    process.exit(2);
  }
  process.stderr.write(redactCredentials(`detour: internal error: ${(err as Error)?.stack ?? String(err)}`) + '\n');
  process.exit(70);
}

let invocation: Invocation;
try {
  invocation = parseArgs(process.argv.slice(2));
} catch (e) {
  fail(e);
}
main(invocation).then((status) => process.exit(status), fail);
