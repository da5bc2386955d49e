// Pure checks of a POST /logout body: optional refresh_token and return_to,
// each at most once.

export type LogoutCheck =
  | { readonly ok: true; readonly refreshToken: string | undefined; readonly returnTo: string | undefined }
  | { readonly ok: false; readonly reason: string };

const MAX_VALUE = 2048;

export function parseLogoutRequest(body: unknown): LogoutCheck {
  if (body === undefined || body === null || body === '') return { ok: true, refreshToken: undefined, returnTo: undefined };
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'the body must be form-encoded or a JSON object' };
  const fields = body as Record<string, unknown>;
  const values: Record<string, string | undefined> = {};
  for (const name of ['refresh_token', 'return_to']) {
    const value = fields[name];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') return { ok: false, reason: `${name} must be given once, as a string` };
    if (value.length > MAX_VALUE) return { ok: false, reason: `${name} is longer than ${MAX_VALUE} characters` };
    values[name] = value;
  }
  return { ok: true, refreshToken: values.refresh_token, returnTo: values.return_to };
}
