// The forwarder's own HTTP/1.1 client for requests without a body (GET, HEAD: nearly every package download),
// on the same dialers and keep-alive limits as agents.ts's http.Agent pools. Why: http.request's
// ClientRequest, OutgoingMessage and IncomingMessage cost ~95 µs of CPU per small request over the ~36 µs of
// the raw TLS exchange (2,000 1 KiB GETs on 16 kept connections, 2026-12-02), more than detour's whole
// routing. A request with a body (npm publish) still goes through http.request, which streams and frames it.
//
// An UpstreamRequest behaves as much like a ClientRequest as the forwarder uses: 'socket', 'finish',
// 'timeout', 'response' and 'error' events, end(), destroy(err), socket and reusedSocket; its response is a
// Readable with IncomingMessage's statusCode, statusMessage, rawHeaders and headers.
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { TargetError, toTargetError } from './errors.js';
import { ResponseParseError, ResponseParser, type ResponseHead } from './responseParser.js';

/** Dials a new connection to a target (agents.ts: --connect-to, the upstream proxy, verified TLS). */
export type Dial = (secure: boolean, host: string, port: number) => Promise<Socket>;

export interface PoolLimits {
  /** Connections per target, in use and idle. */
  readonly maxSockets: number;
  /** Idle connections kept per target. */
  readonly maxFreeSockets: number;
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number;
}

export interface UpstreamRequestOptions {
  readonly secure: boolean;
  /** The name dialed (a bare host; IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
  /** [name, value, …], Host among them. */
  readonly headers: readonly string[];
}

/** What the forwarder and the ecosystem modules read of a target's answer: an IncomingMessage or an UpstreamResponse. */
export interface Answer extends Readable {
  readonly statusCode?: number | undefined;
  readonly statusMessage?: string | undefined;
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
}

/** A target's response: IncomingMessage's fields that the forwarder and the ecosystem modules read. */
export class UpstreamResponse extends Readable {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  /** Every body byte was read off the connection, which may serve another exchange now. */
  complete = false;
  private lowerCased: IncomingHttpHeaders | undefined;

  constructor(
    head: ResponseHead,
    private readonly connection: Connection,
  ) {
    super();
    this.statusCode = head.statusCode;
    this.statusMessage = head.statusMessage;
    this.httpVersion = head.httpVersion;
    this.rawHeaders = head.rawHeaders;
  }

  /** As IncomingMessage's: lower-case names, repeated fields joined with ", ", set-cookie a list. */
  get headers(): IncomingHttpHeaders {
    if (this.lowerCased) return this.lowerCased;
    const h: Record<string, string | string[]> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      const had = h[name];
      if (name === 'set-cookie') (h[name] = (had as string[] | undefined) ?? []).push(value);
      else h[name] = had === undefined ? value : `${had as string}, ${value}`;
    }
    return (this.lowerCased = h as IncomingHttpHeaders);
  }

  override _read(): void {
    if (!this.complete) this.connection.socket.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before its end (the client left, a timeout, a broken transform): the connection is out of step.
    if (!this.complete) this.connection.socket.destroy();
    // As IncomingMessage: the error is emitted only to a listener. One that attaches later (the forwarder, a
    // microtask after 'response', when the same read held the head and a broken body) finds it in `errored`.
    cb(this.listenerCount('error') > 0 ? err : null);
  }
}

/** One kept-alive connection and the exchange it carries now, if any. Its socket listeners stay for its life. */
class Connection {
  current: UpstreamRequest | undefined;

  constructor(
    readonly socket: Socket,
    private readonly pool: TargetPool,
  ) {
    socket.on('data', (chunk: Buffer) => (this.current ? this.current.onData(chunk) : socket.destroy()));
    socket.on('end', () => this.current?.onEnd());
    socket.on('timeout', () => (this.current ? this.current.emit('timeout') : socket.destroy()));
    socket.on('error', (e) => this.current?.onSocketError(e));
    socket.on('close', () => {
      this.current?.onSocketError(Object.assign(new Error('connection closed before the end of the response'), { code: 'ECONNRESET' }));
      this.pool.closed(this);
    });
  }
}

/** The connections to one target: idle ones (last in, first out, as agents.ts's scheduling) and a queue. */
class TargetPool {
  private readonly idle: Connection[] = [];
  private open = 0;
  private readonly waiting: UpstreamRequest[] = [];

  constructor(
    private readonly key: { secure: boolean; host: string; port: number },
    private readonly dial: Dial,
    private readonly limits: PoolLimits,
  ) {}

  acquire(request: UpstreamRequest): void {
    const connection = this.idle.pop();
    if (connection) return request.assign(connection, true);
    if (this.open >= this.limits.maxSockets) {
      this.waiting.push(request);
      return;
    }
    this.open++;
    this.dial(this.key.secure, this.key.host, this.key.port).then(
      (socket) => {
        const c = new Connection(socket, this);
        if (request.destroyed) this.release(c, true);
        else request.assign(c, false);
      },
      (e: unknown) => {
        this.open--;
        request.destroy(toTargetError(e, `${this.key.host}:${this.key.port}`)); // a failed dial
        this.next();
      },
    );
  }

  /** The exchange on `c` is over: the connection serves the next request, waits idle, or closes. */
  release(c: Connection, reusable: boolean): void {
    c.current = undefined;
    if (!reusable || c.socket.destroyed) {
      c.socket.destroy(); // 'close' calls closed()
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) return waiter.assign(c, true);
    if (this.idle.length >= this.limits.maxFreeSockets) {
      c.socket.destroy();
      return;
    }
    // As Node's http.Agent does with a free socket: TCP keep-alive, the idle timeout, and no hold on the event loop.
    c.socket.setKeepAlive(true, 1000);
    c.socket.setTimeout(this.limits.idleTimeoutMs);
    c.socket.unref();
    this.idle.push(c);
  }

  closed(c: Connection): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.open--;
    this.next();
  }

  cancel(request: UpstreamRequest): void {
    const i = this.waiting.indexOf(request);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** A place freed up: the first waiting request dials. */
  private next(): void {
    const waiter = this.waiting.shift();
    if (waiter) this.acquire(waiter);
  }

  destroy(): void {
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }
}

/** Keep-alive pools per target for UpstreamRequests. */
export class UpstreamPools {
  private readonly pools = new Map<string, TargetPool>();

  constructor(
    private readonly dial: Dial,
    private readonly limits: PoolLimits,
  ) {}

  request(o: UpstreamRequestOptions): UpstreamRequest {
    const key = `${o.secure ? 's' : 'p'}${o.port}:${o.host}`;
    // Pools are never dropped: a run reaches a handful of targets (its mirrors and origins).
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new TargetPool({ secure: o.secure, host: o.host, port: o.port }, this.dial, this.limits);
      this.pools.set(key, pool);
    }
    return new UpstreamRequest(o, pool);
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy();
  }
}

/** Header values that would end the head early: CR, LF or NUL (http.request refuses them too). */
const BREAKS_HEAD = /[\r\n\0]/;

export class UpstreamRequest extends EventEmitter {
  socket: Socket | null = null;
  reusedSocket = false;
  destroyed = false;
  private connection: Connection | undefined;
  private parser: ResponseParser | undefined;
  private response: UpstreamResponse | undefined;
  private ended = false;
  private finished = false;

  constructor(
    private readonly options: UpstreamRequestOptions,
    private readonly pool: TargetPool,
  ) {
    super();
  }

  /** The pool hands over a connection (`reused`: it carried an earlier exchange). */
  assign(c: Connection, reused: boolean): void {
    this.connection = c;
    c.current = this;
    this.socket = c.socket;
    this.reusedSocket = reused;
    c.socket.setTimeout(0); // the pool's idle timeout; the forwarder sets its own on 'socket'
    this.emit('socket', c.socket);
    if (!this.destroyed) this.send();
  }

  /**
   * Sends the request (it has no body) once the pool hands over a connection: at once from an idle one, after
   * the dial or the queue otherwise. Called after the caller's listeners are attached ('socket' may come now).
   */
  end(): this {
    if (this.ended || this.destroyed) return this;
    this.ended = true;
    this.pool.acquire(this);
    return this;
  }

  private send(): void {
    const { method, path, headers } = this.options;
    let head = `${method} ${path} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      if (BREAKS_HEAD.test(name) || BREAKS_HEAD.test(value)) {
        this.destroy(new TargetError('E_CONNECT', `request header ${JSON.stringify(name)} holds a line break`));
        return;
      }
      head += `${name}: ${value}\r\n`;
    }
    const socket = this.connection!.socket;
    socket.ref();
    this.parser = new ResponseParser(method, {
      head: (h) => {
        this.response = new UpstreamResponse(h, this.connection!);
        this.emit('response', this.response);
      },
      data: (chunk) => {
        if (this.response && !this.response.push(chunk)) socket.pause();
      },
      end: () => {
        this.finished = true;
        if (this.response) this.response.complete = true;
        this.response?.push(null);
      },
    });
    socket.write(head + '\r\n');
    this.emit('finish');
  }

  onData(chunk: Buffer): void {
    const parser = this.parser;
    if (!parser) return void this.connection?.socket.destroy(); // bytes before the request was sent
    try {
      parser.execute(chunk);
    } catch (e) {
      if (!(e instanceof ResponseParseError)) throw e;
      this.destroy(new TargetError('E_PROTOCOL', `${this.options.host} sent a malformed response: ${e.message}`));
      return;
    }
    // Released only once the whole chunk is read: a byte after the response makes the connection unfit for reuse.
    if (parser.done) this.release(parser.reusable);
  }

  onEnd(): void {
    const parser = this.parser;
    if (!parser || this.finished) return;
    try {
      parser.finish();
    } catch (e) {
      if (!(e instanceof ResponseParseError)) throw e;
      this.onSocketError(Object.assign(new Error(e.message), { code: 'ECONNRESET' }));
      return;
    }
    this.release(false); // a body that ran to the close
  }

  onSocketError(e: Error): void {
    if (this.finished) return;
    this.destroy(toTargetError(e, `${this.options.host}:${this.options.port}`));
  }

  /** The whole response was read: the connection goes back to the pool if it can carry another. */
  private release(reusable: boolean): void {
    const c = this.connection!;
    this.connection = undefined;
    // The response may still hold unread bytes; the connection reads on for its next exchange.
    c.socket.resume();
    this.pool.release(c, reusable);
  }

  /** Abandons the exchange; its connection is closed unless the response was already complete. */
  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.pool.cancel(this);
    if (!this.finished) {
      this.finished = true;
      if (this.connection) {
        this.connection.current = undefined;
        this.connection.socket.destroy();
      }
      if (this.response && !this.response.destroyed) this.response.destroy(err);
    }
    if (err) this.emit('error', err);
    return this;
  }
}
