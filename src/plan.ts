// What the router hands the forwarder: the targets of one request, in order, and how their answers are treated;
// and what the forwarder works with for every request (pools, timeouts, reporter). Policy as data, after Go's
// httputil.ReverseProxy (Director, ModifyResponse); the mechanism is in forwarder.ts (the chain) and attempt.ts
// (one target).
import type http from 'node:http';
import type { TargetAgents } from './agents.js';
import type { Reporter, Route } from './report.js';
import type { Separator } from './chain.js';
import type { ChallengeCredentials } from './challenge.js';
import type { Answer } from './upstream.js';

export interface PlannedTarget {
  readonly url: URL;
  readonly label: string;
  /** The chain's separator leading to this target (undefined for the first; see chain.ts). */
  readonly via?: Separator;
  /** The team mirror's own credentials (`Basic …`), for this target alone; never logged. */
  readonly authorization?: string;
}

/**
 * A response edit, like ReverseProxy's ModifyResponse: new headers and the transforms the body runs through.
 * Used for canonical metadata (a mirror's own host rewritten back to the origin's); never for artifacts.
 */
export interface ResponseEdit {
  readonly headers: http.OutgoingHttpHeaders;
  readonly transforms: readonly NodeJS.ReadWriteStream[];
}
export type ModifyResponse = (res: Answer, target: PlannedTarget, original: URL, method: string) => ResponseEdit | undefined;

export interface ForwardPlan {
  readonly route: Route;
  /** What the client asked for (absolute URL), for logs and error bodies. */
  readonly original: URL;
  readonly targets: readonly PlannedTarget[];
  /**
   * Status answered when every target failed without a 404/410 to pass on (Go preset: 404, with detour's
   * text). Else the last 404/410 answer of the chain, its own status and body; without it, the last answer or 502/504.
   */
  readonly exhaustedStatus?: number;
  readonly modifyResponse?: ModifyResponse;
  /** 401s detour answers itself with a credential from the challenge's issuer (see answerChallenge). */
  readonly challenge?: ChallengeCredentials;
  /** A write to a host with such a rule: what the user should be told if it is refused for want of credentials. */
  readonly refusedWriteHint?: string;
}

/** How long the forwarder waits on a target. */
export interface Timeouts {
  /** Connection made and request sent → response headers. */
  readonly firstByteMs: number;
  /** No bytes in either direction for this long while a body streams. */
  readonly idleMs: number;
}

/** What the forwarder works with for every request of a run: the keep-alive pools, the timeouts, the reporter. */
export interface ForwardContext {
  readonly agents: TargetAgents;
  readonly timeouts: Timeouts;
  readonly reporter: Reporter;
}
