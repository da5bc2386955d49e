// What the sign-in flow needs from X, whichever protocol speaks to it:
// OAuth 1.0a ("Sign in with Twitter", RFC 5849) or OAuth 2.0 Authorization
// Code with PKCE (RFC 6749, RFC 7636). Both return the same profile, keyed
// by the numeric X user id, so one person has one account under either.
import type { ProfileAnswer } from './responses.js';

export type UpstreamProtocol = 'oauth1' | 'oauth2';

/** Whether to ask X for the user's email: `off` never asks; `optional` and `required` ask (the flow refuses a missing one under `required`). */
export type EmailMode = 'off' | 'optional' | 'required';

/** A sign-in started at X. */
export interface UpstreamStart {
  /** Where to send the browser. */
  readonly location: string;
  /**
   * What X's callback carries back and the flow is stored under: the
   * request token (1.0a `oauth_token`) or the `state` roost generated (2.0).
   */
  readonly handle: string;
  /** Kept in the flow store until the callback: the request token secret (1.0a) or the PKCE code_verifier (2.0). */
  readonly secret: string;
}

/** The user's credentials at X, sealed at rest so the account can revoke them when it is deleted. */
export interface UpstreamCredentials {
  readonly protocol: UpstreamProtocol;
  /** The 1.0a access token, or the 2.0 access token. */
  readonly token: string;
  /** The 1.0a access token secret; null under 2.0. */
  readonly secret: string | null;
}

export interface UpstreamSignIn {
  /** `email` is set only when X returned a confirmed address. */
  readonly profile: ProfileAnswer;
  readonly credentials: UpstreamCredentials;
}

export interface Upstream {
  readonly protocol: UpstreamProtocol;
  /** Asks X for a sign-in whose answer comes back to `callbackUrl`. */
  begin(callbackUrl: string): Promise<UpstreamStart>;
  /**
   * Finishes the sign-in the callback answered: `grant` is the 1.0a
   * `oauth_verifier` or the 2.0 `code`; `flow` is what begin() returned.
   * A grant X refuses is AppError `twitter_rejected_verifier`.
   */
  complete(flow: Pick<UpstreamStart, 'handle' | 'secret'>, grant: string, callbackUrl: string): Promise<UpstreamSignIn>;
  /** Revokes the user's credentials at X (1.0a invalidate_token, 2.0 /2/oauth2/revoke). */
  revoke(credentials: UpstreamCredentials): Promise<void>;
  /** One unauthenticated request to compare clocks; the skew in seconds, or undefined when X did not answer. */
  checkClock(): Promise<number | undefined>;
}

/** Times one call to X under its endpoint name and counts its failures; the metrics supply it. */
export type TimedCall = <T>(endpoint: string, work: () => Promise<T>) => Promise<T>;
