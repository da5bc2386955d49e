// A token request body (RFC 6749 §4.1.3, §6), form-encoded or JSON, after
// the route validated it against `TokenRequest` in openapi.yaml: the
// document owns every type, length and character rule. What is left here is
// what a schema does not say: empty parameters (§3.1), which parameters each
// grant_type requires, and the §5.2 error code of a body the schema refuses.
import type { SchemaError } from '../contract/openapi.js';

/** A body that passed the `TokenRequest` schema. Unknown parameters pass too, and are ignored (§3.2). */
export interface TokenRequestBody {
  readonly grant_type: 'authorization_code' | 'refresh_token';
  readonly code?: string;
  readonly code_verifier?: string;
  readonly redirect_uri?: string;
  readonly refresh_token?: string;
  /** A registered client's credentials in the body (client_secret_post, or client_id alone for a public client). */
  readonly client_id?: string;
  readonly client_secret?: string;
}

export type TokenRequest =
  | { readonly grantType: 'refresh_token'; readonly refreshToken: string }
  /** codeVerifier: required unless a confidential client authenticates (the token route checks that). */
  | { readonly grantType: 'authorization_code'; readonly code: string; readonly codeVerifier: string | undefined; readonly redirectUri: string };

export type TokenRequestCheck = { readonly ok: true; readonly value: TokenRequest } | { readonly ok: false; readonly reason: string };

export type TokenSchemaErrorCode = 'invalid_request' | 'unsupported_grant_type';

/**
 * §3.1: "Parameters sent without a value MUST be treated as if they were
 * omitted from the request." Applied before the schema, so that an empty
 * `code_verifier` is a missing one rather than a short one.
 */
export function omitEmptyParameters(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== ''));
}

/**
 * §5.2: an unknown grant_type is `unsupported_grant_type`; any other way to
 * fail the schema (a parameter missing, repeated, not a string, too long or
 * malformed, the body not an object) is `invalid_request`.
 */
export function tokenSchemaErrorCode(errors: readonly SchemaError[] | null | undefined): TokenSchemaErrorCode {
  const error = errors?.[0];
  return error?.instancePath === '/grant_type' && error.keyword === 'enum' ? 'unsupported_grant_type' : 'invalid_request';
}

/** Which parameters each grant_type requires (§4.1.3, §6); an empty one counts as missing (§3.1). */
export function parseTokenRequest(body: TokenRequestBody): TokenRequestCheck {
  const { grant_type: grantType, code, code_verifier: codeVerifier, redirect_uri: redirectUri, refresh_token: refreshToken } = body;
  if (grantType === 'refresh_token') {
    if (!refreshToken) return missing('refresh_token', grantType);
    return { ok: true, value: { grantType, refreshToken } };
  }
  if (!code) return missing('code', grantType);
  if (!redirectUri) return missing('redirect_uri', grantType);
  return { ok: true, value: { grantType, code, codeVerifier: codeVerifier || undefined, redirectUri } };
}

/** The error for a code redemption without code_verifier where one is always needed (roost's own apps, public clients). */
export function missingCodeVerifier(): string {
  return 'code_verifier is required with grant_type=authorization_code';
}

function missing(name: string, grantType: string): TokenRequestCheck {
  return { ok: false, reason: `${name} is required with grant_type=${grantType}` };
}
