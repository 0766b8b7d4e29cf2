// A target's 401 that detour answers itself, for routes whose module says how (types.ts, CredentialChallenge):
// the challenge names an issuer (a container registry's token realm), detour asks it over its own connections
// (--connect-to, upstream, verified TLS) and the forwarder sends the request to the same target again with the
// credential. The client never sees that challenge nor the credential, so it can neither send its own
// credentials to the issuer a mirror named, nor carry a mirror's credential to the origin; and detour gives
// each credential to the host whose challenge asked for it, and to no other.
import http from 'node:http';
import https from 'node:https';
import type { CredentialChallenge } from './ecosystems/types.js';
import { TargetError, toTargetError } from './errors.js';
import type { TargetAgents } from './agents.js';
import { bareHost, portOf } from './urls.js';
import type { Answer } from './upstream.js';

/** An issuer's answer is a small JSON document (containers/image reads at most 1 MiB: iolimits.MaxAuthTokenBodySize). */
const MAX_ANSWER = 1024 * 1024;

interface Held {
  readonly authorization: string;
  readonly until: number;
}

export type Obtained = { readonly authorization: string } | { readonly error: TargetError };

/** What the forwarder needs to ask an issuer: its pools and the first-byte timeout. */
export interface IssuerContext {
  readonly agents: TargetAgents;
  readonly timeoutMs: number;
}

/** GET `url`; the status and (bounded) body, or a typed failure. */
function ask(url: URL, headers: http.OutgoingHttpHeaders, ctx: IssuerContext): Promise<{ status: number; body: string } | { error: TargetError }> {
  return new Promise((resolve) => {
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request({
      method: 'GET',
      host: bareHost(url),
      port: portOf(url),
      path: url.pathname + url.search,
      headers: { host: url.host, ...headers },
      agent: secure ? ctx.agents.https : ctx.agents.http,
    });
    let timer: NodeJS.Timeout | undefined;
    const done = (v: { status: number; body: string } | { error: TargetError }) => {
      clearTimeout(timer);
      resolve(v);
    };
    req.on('socket', () => {
      timer = setTimeout(() => {
        const e = new TargetError('E_FIRST_BYTE_TIMEOUT', `no answer from ${url.host} within ${ctx.timeoutMs} ms`);
        req.destroy(e);
        done({ error: e });
      }, ctx.timeoutMs);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) res.destroy(new TargetError('E_AUTH', `${url.host} sent more than ${MAX_ANSWER} bytes for a credential`));
        else chunks.push(c);
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => done({ error: e instanceof TargetError ? e : toTargetError(e, url.host) }));
    });
    req.on('error', (e) => done({ error: toTargetError(e, url.host) }));
    req.end();
  });
}

/**
 * One rule's credentials from issuers, for this run. Kept per target host and issuer URL (scope included), so
 * a credential is reused only toward the host that asked for it; concurrent requests share one issuer call.
 */
export class ChallengeCredentials {
  private readonly held = new Map<string, { readonly pending: Promise<Held | TargetError>; settled?: Held }>();

  constructor(private readonly challenge: CredentialChallenge) {}

  /** The module's line for a write refused for want of credentials (CredentialChallenge.refusedWriteHint). */
  get refusedWriteHint(): string | undefined {
    return this.challenge.refusedWriteHint;
  }

  /** Is `path` where the client learns how the host it asked wants it to authenticate (a registry's /v2/ ping)? */
  clientLearns(path: string): boolean {
    return this.challenge.clientLearns?.(path) ?? false;
  }

  /**
   * Where the issuer named by this 401 is, or undefined when the module does not answer it. An issuer on
   * plain http is refused for an https target (the credential would travel in clear).
   */
  issuerFor(res: Answer, target: URL): URL | undefined {
    const raw = res.headers['www-authenticate'];
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const url = this.challenge.issuerUrl(values);
    if (!url || (url.protocol !== 'https:' && !(url.protocol === 'http:' && target.protocol === 'http:'))) return undefined;
    return url;
  }

  /**
   * A credential for `target` from `issuer`, kept until it expires (a failure is not kept: the next request
   * asks again). `basic`, a team mirror's own credentials, goes to the issuer only when it is on the target's host.
   */
  async obtain(issuer: URL, target: URL, basic: string | undefined, ctx: IssuerContext): Promise<Obtained> {
    const key = `${target.host} ${issuer.href}`;
    let entry = this.held.get(key);
    if (entry?.settled && entry.settled.until <= Date.now()) entry = undefined;
    if (!entry) {
      const pending = this.fetch(issuer, target, basic, ctx);
      const made: { readonly pending: Promise<Held | TargetError>; settled?: Held } = { pending };
      entry = made;
      this.held.set(key, made);
      void pending.then((got) => {
        if (got instanceof TargetError) {
          if (this.held.get(key) === made) this.held.delete(key);
        } else made.settled = got;
      });
    }
    const got = await entry.pending;
    return got instanceof TargetError ? { error: got } : { authorization: got.authorization };
  }

  private async fetch(issuer: URL, target: URL, basic: string | undefined, ctx: IssuerContext): Promise<Held | TargetError> {
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json', 'user-agent': 'detour' };
    if (basic && issuer.host === target.host) headers.authorization = basic;
    const answer = await ask(issuer, headers, ctx);
    if ('error' in answer) return new TargetError('E_AUTH', `${target.host} asked for a credential from ${issuer.host}: ${answer.error.code} ${answer.error.message}`);
    if (answer.status !== 200) return new TargetError('E_AUTH', `${target.host} asked for a credential from ${issuer.host}, which answered HTTP ${answer.status}`);
    const credential = this.challenge.credential(answer.body);
    if (!credential) return new TargetError('E_AUTH', `${target.host} asked for a credential from ${issuer.host}, whose answer held none`);
    // Renewed a little before it runs out: a request must not reach the target with a credential that just expired.
    return { authorization: credential.authorization, until: Date.now() + credential.ttlMs * 0.9 };
  }
}
