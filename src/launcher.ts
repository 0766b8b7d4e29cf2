// What the launcher (src/cli.cts) hands the bundle it loads through vm.Script, as the free name
// `__detourLauncher` (a parameter of the function the bundle is wrapped in). Where this module runs outside
// the bundle (tsc's dist/*.js, which tests import), the name is undefined and the plain defaults apply.

export interface Launcher {
  /** import() of a package outside the bundle (pino, proxy-agent, yargs): see src/cli.cts for why. */
  importExternal(specifier: string): Promise<unknown>;
  /** Called once the child is spawned: the build saves V8's code cache here (src/cli.cts). */
  startupDone(): void;
}

declare const __detourLauncher: Launcher | undefined;

export const launcher: Launcher =
  typeof __detourLauncher === 'object' ? __detourLauncher : { importExternal: (specifier) => import(specifier), startupDone() {} };
