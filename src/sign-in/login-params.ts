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

/** A /login/callback query that passed the document's schema. Unknown parameters pass too, and are ignored. */
export interface CallbackQuery {
  readonly oauth_token?: string;
  readonly oauth_verifier?: string;
  readonly denied?: string;
}

export type CallbackParams =
  | { readonly kind: 'approved'; readonly token: string; readonly verifier: string }
  | { readonly kind: 'denied'; readonly token: string };

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Twitter sends either `oauth_token` and `oauth_verifier`, or `denied` alone. */
export function parseCallbackParams(query: CallbackQuery): Result<CallbackParams> {
  const { oauth_token: token, oauth_verifier: verifier, denied } = query;
  if (denied !== undefined) {
    if (token !== undefined || verifier !== undefined) {
      return { ok: false, reason: 'denied cannot be combined with oauth_token or oauth_verifier' };
    }
    return { ok: true, value: { kind: 'denied', token: denied } };
  }
  if (token === undefined || verifier === undefined) {
    return { ok: false, reason: 'oauth_token and oauth_verifier are required' };
  }
  return { ok: true, value: { kind: 'approved', token, verifier } };
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
