// The query strings of /login and /login/callback after the routes validated
// them against openapi.yaml: the document owns every type, length and
// character rule, and a parameter given twice already failed there (never
// first-wins or last-wins, which is how parameter-pollution attacks slip
// through). What is left here is what a schema of independent parameters
// does not say: which of them go together.

/** A /login query that passed the document's schema. */
export interface LoginQuery {
  readonly return_to: string;
  readonly code_challenge?: string;
  readonly code_challenge_method?: 'S256';
  readonly state?: string;
}

/**
 * A /login/callback query that passed the document's schema: X's OAuth 1.0a
 * answer or its OAuth 2.0 one. Unknown parameters pass too, and are ignored.
 */
export interface CallbackQuery {
  readonly oauth_token?: string;
  readonly oauth_verifier?: string;
  readonly denied?: string;
  readonly code?: string;
  readonly state?: string;
  readonly error?: string;
  readonly error_description?: string;
}

/**
 * What X answered, whichever protocol: `handle` finds the stored flow (the
 * 1.0a request token, or the 2.0 `state` roost sent), `grant` finishes it
 * (the 1.0a verifier, or the 2.0 code).
 */
export type CallbackParams =
  | { readonly kind: 'approved'; readonly handle: string; readonly grant: string }
  | { readonly kind: 'denied'; readonly handle: string }
  /** OAuth 2.0 only: X refused the request for a reason other than the user's (RFC 6749 §4.1.2.1). */
  | { readonly kind: 'upstream-error'; readonly handle: string; readonly error: string };

import type { UpstreamProtocol } from '../twitter/upstream.js';

/** The protocol a callback's parameters belong to: X answers in the protocol the flow began with. */
export function callbackProtocol(query: CallbackQuery): UpstreamProtocol {
  return query.oauth_token !== undefined || query.oauth_verifier !== undefined || query.denied !== undefined ? 'oauth1' : 'oauth2';
}

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * OAuth 1.0a sends `oauth_token` and `oauth_verifier`, or `denied` alone;
 * OAuth 2.0 sends `code` and `state`, or `error` and `state`. Parameters of
 * the two are never mixed.
 */
export function parseCallbackParams(query: CallbackQuery): Result<CallbackParams> {
  const { oauth_token: token, oauth_verifier: verifier, denied, code, state, error } = query;
  const oauth1 = token !== undefined || verifier !== undefined || denied !== undefined;
  const oauth2 = code !== undefined || state !== undefined || error !== undefined;
  if (oauth1 && oauth2) return { ok: false, reason: 'OAuth 1.0a parameters (oauth_token, oauth_verifier, denied) cannot be combined with OAuth 2.0 ones (code, state, error)' };
  if (oauth2) {
    if (state === undefined) return { ok: false, reason: 'state is required with code or error' };
    if (error !== undefined) {
      if (code !== undefined) return { ok: false, reason: 'error cannot be combined with code' };
      return { ok: true, value: error === 'access_denied' ? { kind: 'denied', handle: state } : { kind: 'upstream-error', handle: state, error } };
    }
    if (code === undefined) return { ok: false, reason: 'code or error is required with state' };
    return { ok: true, value: { kind: 'approved', handle: state, grant: code } };
  }
  if (denied !== undefined) {
    if (token !== undefined || verifier !== undefined) {
      return { ok: false, reason: 'denied cannot be combined with oauth_token or oauth_verifier' };
    }
    return { ok: true, value: { kind: 'denied', handle: denied } };
  }
  if (token === undefined || verifier === undefined) {
    return { ok: false, reason: 'oauth_token and oauth_verifier (OAuth 1.0a), or code and state (OAuth 2.0), are required' };
  }
  return { ok: true, value: { kind: 'approved', handle: token, grant: verifier } };
}

/** What a /login asks for besides return_to: the PKCE mode (RFC 7636 §4.3) and the app's opaque state (RFC 6749 §4.1.1). */
export interface LoginRequest {
  /** Present: the code mode; absent: the fragment mode. */
  readonly codeRequest?: CodeRequest;
  /** Sent back with every answer, in either mode, so the app knows the sign-in was its own (§10.12). */
  readonly state?: string;
}

/** The PKCE mode: the app's S256 challenge. */
export interface CodeRequest {
  readonly challenge: string;
}

/** A challenge needs code_challenge_method=S256; `plain` is refused. `state` goes with either mode. */
export function parseLoginRequest(query: Omit<LoginQuery, 'return_to'>): Result<LoginRequest> {
  const { code_challenge: challenge, code_challenge_method: method, state } = query;
  const withState = state === undefined ? {} : { state };
  if (challenge === undefined) {
    if (method !== undefined) return { ok: false, reason: 'code_challenge_method is used only with code_challenge' };
    return { ok: true, value: withState };
  }
  // RFC 7636 §4.3 makes a missing method mean plain; roost accepts S256 only
  // (RFC 9700 §2.1.1). The document refuses any other value; absent is left.
  if (method === undefined) return { ok: false, reason: 'code_challenge_method must be S256 (plain is not accepted)' };
  return { ok: true, value: { codeRequest: { challenge }, ...withState } };
}
