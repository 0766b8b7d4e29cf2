// The child's life in one place (after execa): spawn, signal forwarding, exit-status translation.
// One promise settles when the child is gone, with the status detour should exit with.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isatty } from 'node:tty';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export interface ChildResult {
  /** What detour exits with: the child's code, 128+N for signal N, 127 not found, 126 not executable. */
  readonly status: number;
  /** A one-line explanation when the child could not be started. */
  readonly error?: string;
}

export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const received = new Map<string, number>();
    // On a terminal, Ctrl-C and Ctrl-\ already reach the child: the terminal signals the whole foreground
    // process group. Forwarding them would deliver each twice (and an interactive `detour -- bash` would be
    // killed by two Ctrl-Cs at its prompt), so only signals that cannot have come from the keyboard are
    // forwarded there. Elsewhere (CI, scripts, `kill PID`) every signal is forwarded.
    // tty.isatty, not process.stdin.isTTY: touching process.stdin would open it here, and a pipe shared
    // with the child can be switched to non-blocking under the child's feet.
    const keyboard = new Set<string>(isatty(0) ? ['SIGINT', 'SIGQUIT'] : []);
    const onSignal = (sig: NodeJS.Signals) => {
      if (keyboard.has(sig)) return;
      const n = (received.get(sig) ?? 0) + 1;
      received.set(sig, n);
      // The same signal twice means "really stop": a child that ignores it is killed.
      child.kill(n >= 2 && sig !== 'SIGHUP' ? 'SIGKILL' : sig);
    };
    for (const s of FORWARDED) process.on(s, onSignal);
    const detach = () => {
      for (const s of FORWARDED) process.off(s, onSignal);
    };

    child.once('error', (err: NodeJS.ErrnoException) => {
      detach();
      if (err.code === 'ENOENT') resolve({ status: 127, error: `detour: command not found: ${command}` });
      else if (err.code === 'EACCES' || err.code === 'EISDIR' || err.code === 'ENOEXEC')
        resolve({ status: 126, error: `detour: cannot execute ${command}: ${err.code}` });
      else resolve({ status: 126, error: `detour: cannot start ${command}: ${err.message}` });
    });
    child.once('exit', (code, signal) => {
      detach();
      if (signal) resolve({ status: 128 + (constants.signals[signal] ?? 0) });
      else resolve({ status: code ?? 1 });
    });
  });
}
