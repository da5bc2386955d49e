// Pure checks of the query strings of /login and /login/callback. A
// parameter that is missing, repeated or odd is refused: never first-wins or
// last-wins, which is how parameter-pollution attacks slip through.

export type Query = Readonly<Record<string, unknown>>;

export type CallbackParams =
  | { readonly kind: 'approved'; readonly token: string; readonly verifier: string }
  | { readonly kind: 'denied'; readonly token: string };

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const OAUTH_VALUE = /^[A-Za-z0-9._~+/=-]{1,512}$/;

/** One string value, or the reason it is not one. Absent is undefined. */
function single(query: Query, name: string): Result<string | undefined> {
  const value = query[name];
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'string') return { ok: false, reason: `${name} must be given once` };
  return { ok: true, value };
}

export function parseReturnToParam(query: Query): Result<string> {
  const returnTo = single(query, 'return_to');
  if (!returnTo.ok) return returnTo;
  if (returnTo.value === undefined || returnTo.value === '') return { ok: false, reason: 'return_to is required' };
  return { ok: true, value: returnTo.value };
}

export function parseCallbackParams(query: Query): Result<CallbackParams> {
  const fields = {} as Record<'oauth_token' | 'oauth_verifier' | 'denied', string | undefined>;
  for (const name of ['oauth_token', 'oauth_verifier', 'denied'] as const) {
    const field = single(query, name);
    if (!field.ok) return field;
    if (field.value !== undefined && !OAUTH_VALUE.test(field.value)) return { ok: false, reason: `${name} is malformed` };
    fields[name] = field.value;
  }
  const { oauth_token: token, oauth_verifier: verifier, denied } = fields;
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

/** The PKCE mode's extra /login parameters (RFC 7636 §4.3, RFC 6749 §4.1.1). */
export interface CodeRequest {
  readonly challenge: string;
  readonly state?: string;
}

// RFC 6749 Appendix A.5: state is visible ASCII; bounded here.
const STATE = /^[\x20-\x7e]{1,512}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** undefined: the fragment mode (no challenge). A challenge needs code_challenge_method=S256; `plain` is refused. */
export function parseCodeRequestParams(query: Query): Result<CodeRequest | undefined> {
  const fields = {} as Record<'code_challenge' | 'code_challenge_method' | 'state', string | undefined>;
  for (const name of ['code_challenge', 'code_challenge_method', 'state'] as const) {
    const field = single(query, name);
    if (!field.ok) return field;
    fields[name] = field.value;
  }
  const { code_challenge: challenge, code_challenge_method: method, state } = fields;
  if (challenge === undefined) {
    if (method !== undefined || state !== undefined) {
      return { ok: false, reason: 'code_challenge_method and state are used only with code_challenge' };
    }
    return { ok: true, value: undefined };
  }
  // RFC 7636 §4.3 makes a missing method mean plain; roost accepts S256 only (RFC 9700 §2.1.1).
  if (method !== 'S256') return { ok: false, reason: 'code_challenge_method must be S256 (plain is not accepted)' };
  if (!S256_CHALLENGE.test(challenge)) return { ok: false, reason: 'code_challenge must be 43 base64url characters (BASE64URL(SHA256(verifier)))' };
  if (state !== undefined && !STATE.test(state)) return { ok: false, reason: 'state must be 1 to 512 visible ASCII characters' };
  return { ok: true, value: state === undefined ? { challenge } : { challenge, state } };
}
