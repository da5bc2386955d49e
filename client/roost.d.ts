// Types for roost.js.

export interface RoostClientOptions {
  /** roost's PUBLIC_URL, e.g. `https://auth.example.com`. */
  url: string;
  /** The app's page that receives the sign-in, exactly as registered in roost's RETURN_TO_URLS. */
  returnTo: string;
  /** `code` (the default): a code and PKCE in the query; `fragment`: the tokens in the URL fragment. */
  mode?: 'code' | 'fragment';
}

/** The claims of roost's access token (see AccessTokenClaims in roost's openapi.yaml). */
export interface RoostUser {
  iss: string;
  /** roost's user id. */
  sub: string;
  /** The session. */
  sid: string;
  iat: number;
  exp: number;
  jti: string;
  aud?: string;
  screen_name: string;
  name: string;
  picture: string | null;
  /** A decimal string: Twitter ids exceed 2^53. */
  twitter_id: string;
  [claim: string]: unknown;
}

/**
 * What the client rejects with. `error` is the OAuth error of a sign-in
 * (`access_denied`, `temporarily_unavailable`, `server_error`), or
 * `state_mismatch` (an answer this tab did not ask for), `invalid_response`,
 * `network_error` (roost could not be reached), or the `error` of `POST /token`.
 */
export interface RoostError extends Error {
  error: string;
  /** The HTTP status of roost's answer, when there was one. */
  status?: number;
  /** Seconds, from a 429's or 503's Retry-After. */
  retryAfter?: number;
}

export interface RoostClient {
  /** Starts a sign-in: the browser leaves for roost. A fresh `state` (or the one given) is kept in this tab's sessionStorage. */
  signIn(options?: { state?: string }): Promise<void>;
  /**
   * Call on every load of the page. With an answer in the address (code or
   * tokens, or an error), checks its state, removes it from the address bar,
   * and resolves to the signed-in user; rejects with a RoostError for an
   * error answer or an answer this tab did not ask for. Without one,
   * resolves to the user of the stored session (after a refresh) or null.
   */
  handleRedirect(): Promise<RoostUser | null>;
  /**
   * A valid access token, refreshed ahead of expiry. Resolves null when no
   * one is signed in or the session has ended. While roost cannot be
   * reached, resolves the current token if it is still valid, else rejects
   * with a RoostError; retries in the background, less and less often.
   */
  getAccessToken(): Promise<string | null>;
  /** Ends the session at roost (POST /logout) and in every tab. */
  signOut(): Promise<void>;
  /** Called with the user, or null, whenever that changes in this tab or another. Returns the unsubscribe. */
  onChange(listener: (user: RoostUser | null) => void): () => void;
}

export function createRoostClient(options: RoostClientOptions): RoostClient;
