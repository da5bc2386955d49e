// Pure checks of a token request body (RFC 6749 §4.1.3, §6), form-encoded or
// JSON. Parameters sent more than once are refused (§3.2); parameters the
// endpoint does not know are ignored (§3.2 "MUST ignore unrecognized").

export type TokenRequest =
  | { readonly grantType: 'refresh_token'; readonly refreshToken: string }
  | { readonly grantType: 'authorization_code'; readonly code: string; readonly codeVerifier: string; readonly redirectUri: string };

export type TokenRequestCheck =
  | { readonly ok: true; readonly value: TokenRequest }
  | { readonly ok: false; readonly error: 'invalid_request' | 'unsupported_grant_type'; readonly reason: string };

const MAX_VALUE = 2048;

export function parseTokenRequest(body: unknown): TokenRequestCheck {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid('the body must be form-encoded or a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const read = (name: string): { ok: true; value: string | undefined } | { ok: false; reason: string } => {
    const value = fields[name];
    if (value === undefined) return { ok: true, value: undefined };
    if (Array.isArray(value)) return { ok: false, reason: `${name} must be given once` };
    if (typeof value !== 'string') return { ok: false, reason: `${name} must be a string` };
    if (value.length > MAX_VALUE) return { ok: false, reason: `${name} is longer than ${MAX_VALUE} characters` };
    return { ok: true, value };
  };
  const required = (name: string): { ok: true; value: string } | { ok: false; reason: string } => {
    const field = read(name);
    if (!field.ok) return field;
    if (field.value === undefined || field.value === '') return { ok: false, reason: `${name} is required` };
    return { ok: true, value: field.value };
  };

  const grantType = required('grant_type');
  if (!grantType.ok) return invalid(grantType.reason);
  if (grantType.value === 'refresh_token') {
    const refreshToken = required('refresh_token');
    if (!refreshToken.ok) return invalid(refreshToken.reason);
    return { ok: true, value: { grantType: 'refresh_token', refreshToken: refreshToken.value } };
  }
  if (grantType.value === 'authorization_code') {
    const code = required('code');
    if (!code.ok) return invalid(code.reason);
    const codeVerifier = required('code_verifier');
    if (!codeVerifier.ok) return invalid(codeVerifier.reason);
    const redirectUri = required('redirect_uri');
    if (!redirectUri.ok) return invalid(redirectUri.reason);
    return { ok: true, value: { grantType: 'authorization_code', code: code.value, codeVerifier: codeVerifier.value, redirectUri: redirectUri.value } };
  }
  return { ok: false, error: 'unsupported_grant_type', reason: 'grant_type must be authorization_code or refresh_token' };
}

function invalid(reason: string): TokenRequestCheck {
  return { ok: false, error: 'invalid_request', reason };
}
