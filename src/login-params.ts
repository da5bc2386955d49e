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
