import { redactCredentials } from './redact.js';

// Explicit error kinds, in the manner of undici: callers branch on `code`, never on message text.
// The fallback chain, the 502/504 answer, the -v line and the log all read the same code.

export type FailureCode =
  | 'E_CONNECT' // TCP connect refused / unreachable / DNS
  | 'E_TLS' // handshake failed or certificate not trusted
  | 'E_CONNECT_TIMEOUT' // no TCP+TLS connection within --timeout
  | 'E_FIRST_BYTE_TIMEOUT' // connected, request sent, no response headers within --timeout
  | 'E_IDLE_TIMEOUT' // body stalled for longer than the idle timeout
  | 'E_UPSTREAM_PROXY' // the --upstream proxy refused or failed the CONNECT
  | 'E_RESET' // the target closed the connection before or during the response
  | 'E_PROTOCOL' // the target's answer is not well-formed HTTP/1.1 (upstream.ts's parser refused it)
  | 'E_AUTH'; // the target asked for a credential that detour could not obtain for it (challenge.ts)

export class TargetError extends Error {
  override readonly name = 'TargetError';
  constructor(
    readonly code: FailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Timeouts answer 504, every other failure 502, as a gateway would. */
  get status(): 502 | 504 {
    return this.code === 'E_CONNECT_TIMEOUT' || this.code === 'E_FIRST_BYTE_TIMEOUT' || this.code === 'E_IDLE_TIMEOUT'
      ? 504
      : 502;
  }
}


/** A usage or configuration mistake: detour prints the message as one line and exits 2. Never holds credentials. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super(redactCredentials(message));
  }
}

/** Turns whatever node:net / node:tls threw into a TargetError with a stable code. */
export function toTargetError(err: unknown, what: string): TargetError {
  if (err instanceof TargetError) return err;
  const e = err as NodeJS.ErrnoException & { library?: string; reason?: string };
  const code = e?.code ?? '';
  const msg = e?.message ?? String(err);
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME_MISMATCH|ALTNAME|EPROTO/.test(code) ||
    e?.library === 'SSL routines'
  ) {
    return new TargetError('E_TLS', `TLS failure with ${what}: ${msg}`, { cause: err });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new TargetError('E_RESET', `connection to ${what} reset: ${msg}`, { cause: err });
  }
  return new TargetError('E_CONNECT', `cannot connect to ${what}: ${msg}`, { cause: err });
}
