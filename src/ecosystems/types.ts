// What an ecosystem module declares (one file per ecosystem under src/ecosystems/, listed in index.ts).
// Data first (hosts, mirrors, default chain, path mapping, metadata, probe, privacy guard: the `Preset`
// part), then optional hooks for what the core asks of an ecosystem at run time. Nothing here knows sockets.

export interface PresetRoute {
  /** Origin host the client asks for. */
  readonly host: string;
  /** Only paths under this prefix are mirrored ('' = the whole host). */
  readonly pathPrefix: string;
  /** Appended to a mirror's base URL for this host (Go's checksum database lives under <mirror>/sumdb/<name>). */
  readonly mount: string;
  /**
   * Where this host lives at a mirror, when not under the mirror's root (hf-mirror.com serves cdn-lfs-us-1.hf.co
   * as cdn-lfs-us-1.hf-mirror.com); `mount` is then unused. Undefined: that mirror does not serve this host, and
   * it is left out of this host's chain (a host left with no mirror at all gets no rule).
   */
  readonly mirrorBase?: (mirrorRoot: URL) => URL | undefined;
  /**
   * Mirrors that lay out artifacts differently from the origin map the path after the prefix. Undefined: no
   * mirror place is known for this path, and the route does not cover it (it goes on as a path no rule covers).
   */
  readonly mirrorPath?: (suffix: string) => string | undefined;
  /** The module a request path names, for the privacy guard (never ask a mirror about a private module). */
  readonly moduleOf?: (path: string) => string | undefined;
  /** Which answers are metadata to canonicalise (absent: none; artifacts never are). */
  readonly isMetadata?: (suffix: string, contentType: string) => boolean;
  /** Metadata documents the origin fixes entirely, answered as the origin serves them (a registry's config). */
  readonly originDocument?: (suffix: string) => string | undefined;
  /**
   * Metadata that byte replacement cannot make canonical (a mirror that writes its own download URLs where the
   * origin names another host, or adds fields): the whole decoded document goes through this function, then
   * through the replacements. `mirrorUrl` is the URL it was fetched from. Memory is the document's size.
   */
  readonly canonicalDocument?: (text: string, at: { readonly suffix: string; readonly mirrorUrl: URL }) => string;
  /** Its metadata pages may link with relative URLs (`../../packages/…`). */
  readonly relativeLinks?: boolean;
  /** Response headers, of any status, whose URLs naming a mirror are canonicalised (a redirect's Location, Link). */
  readonly canonicalHeaders?: readonly string[];
  /** `detour check`: the origin path a health probe asks for (under pathPrefix); absent: not probed. */
  readonly probe?: string;
  /** A 401 detour answers itself, with a credential from the issuer the challenge names (absent: 401s pass on). */
  readonly challenge?: CredentialChallenge;
}

/**
 * How a target's 401 names where a credential is issued, and how the issuer's answer gives it (a container
 * registry's bearer-token realm). detour asks the issuer and sends the request to that target again; the client
 * never sees the challenge. Only where the target got no credentials of the client's (src/challenge.ts).
 */
export interface CredentialChallenge {
  /** The issuer's URL (query included), from the 401's WWW-Authenticate values; undefined: not answered here. */
  readonly issuerUrl: (wwwAuthenticate: readonly string[]) => URL | undefined;
  /** From the issuer's 200 body, the Authorization value for the target and how long it may be used; undefined: none. */
  readonly credential: (body: string) => { readonly authorization: string; readonly ttlMs: number } | undefined;
  /** Paths where the client learns how the host it asked wants it to authenticate: that host's own 401 there reaches it. */
  readonly clientLearns?: (path: string) => boolean;
  /**
   * Told once, as a warning, when the host the client asked refuses a write (401) that carried no credentials
   * of the client's: with a mirror answering where clients learn to authenticate, a client may never log in.
   */
  readonly refusedWriteHint?: string;
}

/** The data part of an ecosystem: what `detour presets` lists and `-m NAME[=CHAIN]` turns into rules. */
export interface Preset {
  readonly name: string;
  readonly description: string;
  readonly routes: readonly PresetRoute[];
  /** Named mirrors: `-m NAME=MIRROR` picks one by name. */
  readonly mirrors: Readonly<Record<string, string>>;
  /** Default chain, over mirror names and `origin` (`a|b,origin`). */
  readonly defaultChain: string;
  /** Status answered when every target failed (absent: 502/504 by failure kind). */
  readonly exhaustedStatus?: number;
  /** Not in the default set (no `-m` given): only `-m NAME` turns it on. */
  readonly optIn?: boolean;
}

/** Would detour decrypt a CONNECT to host:port (a rule covers it, not --direct)? Given by the core. */
export type Serves = (host: string, port: number) => boolean;

/** Where a request on an ecosystem's plain-HTTP endpoint goes. */
export type EndpointRoute =
  /** Route this URL as if the client had asked for it over TLS (with these credentials, if any). */
  | { readonly kind: 'forward'; readonly url: URL; readonly authorization?: string }
  /** Answer here with this status and an empty body (protocol, not content). */
  | { readonly kind: 'answer'; readonly status: number }
  /** Not something this run's endpoint serves: 404 with this reason. */
  | { readonly kind: 'unknown'; readonly reason: string };

/** A plain-HTTP endpoint on the proxy port, at `/<token>/<ecosystem name>/…`. */
export interface Endpoint {
  /** Maps the part after `/<token>/<name>/` to where it goes. */
  route(rest: string): EndpointRoute;
}

/** What the core tells an ecosystem when it builds the child's environment. */
export interface ChildEnvFacts {
  readonly proxyUrl: string;
  /** The child's NO_PROXY, as the core computed it. */
  readonly noProxy: string;
  /** Patterns given with --direct, as written (GOPRIVATE glob syntax). */
  readonly ownDirect: readonly string[];
  /** `http://127.0.0.1:PORT/<token>/<name>`: this ecosystem's endpoint base, when it has one this run. */
  readonly endpointBase?: string;
  /** The files this ecosystem asked for (`EcosystemRun.files`), by name: where the core wrote them. */
  readonly files: Readonly<Record<string, string>>;
}

/** What the core tells an ecosystem when it writes the files its tools read. */
export interface FileFacts {
  /** The child's SSL_CERT_FILE: the roots a tool would have used, plus --upstream-ca, plus the run's CA. */
  readonly bundle: string;
  /** The roots the child gets on top of its own, as PEM text: --upstream-ca, then the run's CA (bundle's tail). */
  readonly extraRoots: string;
  /** The child's proxy URL, with the run's credential (a settings file may have to name it). */
  readonly proxyUrl: string;
  /** The child's NO_PROXY, as the core computed it. */
  readonly noProxy: string;
}

/** An ecosystem's part in one run, prepared once from the parent's environment and the routing. */
export interface EcosystemRun {
  /** Present: the proxy port serves `/<token>/<name>/…` through it. */
  readonly endpoint?: Endpoint;
  /**
   * Files a tool reads settings from (no variable can say it): relative path (`a.conf`, `conf/settings.xml`)
   * → content. The core writes them under `<run folder>/<name>/` (files 0600, folders 0700, removed at exit)
   * before `childEnv`, which gets their paths. The only way an ecosystem writes anything.
   */
  files?(parentEnv: NodeJS.ProcessEnv, facts: FileFacts): Readonly<Record<string, string | Uint8Array>>;
  /** Variables this ecosystem sets or changes in the child's environment. */
  childEnv?(parentEnv: NodeJS.ProcessEnv, facts: ChildEnvFacts): NodeJS.ProcessEnv;
}

/** A module under src/ecosystems/: a `Preset` plus optional run-time hooks. */
export interface Ecosystem extends Preset {
  /** Patterns the parent's environment sends direct, as --direct would (GOPRIVATE glob syntax). */
  readonly directPatterns?: (parentEnv: NodeJS.ProcessEnv) => readonly string[];
  /** Per-run setup. Runs for every listed ecosystem, enabled or not (a child's tool reads its own settings). */
  readonly prepare?: (parentEnv: NodeJS.ProcessEnv, serves: Serves) => EcosystemRun;
}
