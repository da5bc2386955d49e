// X's OAuth 2.0 token and revocation endpoints as plain functions: the form
// and Authorization header in, the status and JSON body out. Client
// authentication is HTTP Basic (RFC 6749 §2.3.1, a confidential client), the
// code is bound to its client, redirect URI and PKCE challenge (RFC 7636
// §4.6), and every refusal is RFC 6749 §5.2 JSON.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ACCESS_TOKEN_TTL_SECONDS, type IssuedTokens, type OAuth2Store } from './oauth2-store.js';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface TokenContext {
  /** Undefined when the sandbox has no OAuth 2.0 app: every client is then refused. */
  readonly client: ClientCredentials | undefined;
  readonly store: OAuth2Store;
  /** Whether the user the code was approved for still exists. */
  readonly userExists: (userId: string) => boolean;
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'unsupported_token_type';

export interface TokenAnswer {
  readonly status: 200 | 400 | 401;
  readonly body: Readonly<Record<string, string | number | boolean>>;
  /** Set on 401: the challenge for the scheme the client must use (§5.2). */
  readonly wwwAuthenticate?: string;
}

const BASIC_CHALLENGE = 'Basic realm="sandbox", charset="UTF-8"';
// RFC 7636 §4.1: 43 to 128 unreserved characters.
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, compared in constant time. */
export function isS256Match(codeVerifier: string, codeChallenge: string): boolean {
  if (!CODE_VERIFIER.test(codeVerifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(codeVerifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(codeChallenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** POST /2/oauth2/token: authorization_code with PKCE, and refresh_token. */
export function answerTokenRequest(context: TokenContext, authorization: string | undefined, formBody: string | undefined): TokenAnswer {
  const form = readForm(formBody);
  if (!form.ok) return form.answer;
  const client = authenticateClient(context.client, authorization, form.params);
  if (!client.ok) return client.answer;

  const grantType = form.params.get('grant_type');
  if (grantType === undefined) return oauthError('invalid_request', 'grant_type is required.');
  if (grantType === 'authorization_code') return exchangeCode(context, client.clientId, form.params);
  if (grantType === 'refresh_token') return refresh(context, client.clientId, form.params);
  return oauthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
}

/** POST /2/oauth2/revoke (RFC 7009): always `revoked` once the client is authenticated, known token or not (§2.2). */
export function answerRevokeRequest(context: TokenContext, authorization: string | undefined, formBody: string | undefined): TokenAnswer {
  const form = readForm(formBody);
  if (!form.ok) return form.answer;
  const client = authenticateClient(context.client, authorization, form.params);
  if (!client.ok) return client.answer;
  const token = form.params.get('token');
  if (token === undefined) return oauthError('invalid_request', 'token is required.');
  const hint = form.params.get('token_type_hint');
  if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') {
    return oauthError('unsupported_token_type', 'token_type_hint must be access_token or refresh_token.');
  }
  context.store.revoke(token, client.clientId);
  return { status: 200, body: { revoked: true } };
}

function exchangeCode(context: TokenContext, clientId: string, params: Map<string, string>): TokenAnswer {
  const code = params.get('code');
  const redirectUri = params.get('redirect_uri');
  const codeVerifier = params.get('code_verifier');
  if (code === undefined) return oauthError('invalid_request', 'code is required.');
  if (redirectUri === undefined) return oauthError('invalid_request', 'redirect_uri is required.');
  if (codeVerifier === undefined) return oauthError('invalid_request', 'code_verifier is required.');

  // Taken before it is checked: a wrong verifier or redirect URI spends the code, so neither can be guessed.
  const taken = context.store.takeCode(code);
  if (taken.kind === 'replayed') return oauthError('invalid_grant', 'The authorization code was already used.');
  if (taken.kind === 'unknown') return oauthError('invalid_grant', 'Value passed for the authorization code was invalid.');
  const entry = taken.entry;
  if (entry.clientId !== clientId) return oauthError('invalid_grant', 'The authorization code was issued to another client.');
  // §4.1.3: identical to the redirect_uri of the authorization request.
  if (entry.redirectUri !== redirectUri) return oauthError('invalid_grant', 'redirect_uri does not match the authorization request.');
  if (!isS256Match(codeVerifier, entry.codeChallenge)) return oauthError('invalid_grant', 'code_verifier does not match the code_challenge.');
  if (!context.userExists(entry.userId)) return oauthError('invalid_grant', 'The user who approved is gone.');
  return tokenResponse(context.store.exchangeCode(entry));
}

function refresh(context: TokenContext, clientId: string, params: Map<string, string>): TokenAnswer {
  const token = params.get('refresh_token');
  if (token === undefined) return oauthError('invalid_request', 'refresh_token is required.');
  const entry = context.store.takeRefreshToken(token);
  if (entry === undefined || entry.grant.clientId !== clientId) return oauthError('invalid_grant', 'Value passed for the refresh token was invalid.');
  if (!context.userExists(entry.grant.userId)) return oauthError('invalid_grant', 'The user who approved is gone.');
  return tokenResponse(context.store.issueTokens(entry.grant));
}

function tokenResponse(tokens: IssuedTokens): TokenAnswer {
  return {
    status: 200,
    body: {
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      access_token: tokens.access.token,
      scope: tokens.access.grant.scopes.join(' '),
      ...(tokens.refresh === undefined ? {} : { refresh_token: tokens.refresh.token }),
    },
  };
}

type FormRead = { readonly ok: true; readonly params: Map<string, string> } | { readonly ok: false; readonly answer: TokenAnswer };

/** The form's parameters, each at most once (§3.2); an empty value counts as absent (§3.1). */
function readForm(formBody: string | undefined): FormRead {
  if (formBody === undefined) return { ok: false, answer: oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded.') };
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(formBody)) {
    if (value === '') continue;
    if (params.has(name)) return { ok: false, answer: oauthError('invalid_request', `The request repeats ${name}.`) };
    params.set(name, value);
  }
  return { ok: true, params };
}

type ClientCheck = { readonly ok: true; readonly clientId: string } | { readonly ok: false; readonly answer: TokenAnswer };

/**
 * HTTP Basic with the form-encoded client id and secret (§2.3.1). A client_id
 * in the body may accompany it if it names the same client; a secret in the
 * body is a second method, which §2.3 forbids.
 */
function authenticateClient(client: ClientCredentials | undefined, authorization: string | undefined, params: Map<string, string>): ClientCheck {
  if (params.has('client_secret')) {
    return { ok: false, answer: oauthError('invalid_request', 'Send the client secret with HTTP Basic only, not in the body.') };
  }
  const presented = authorization === undefined ? undefined : readBasicCredentials(authorization);
  if (presented === undefined) return { ok: false, answer: invalidClient('Client authentication with HTTP Basic is required.') };
  if (client === undefined || !sameSecret(presented.clientId, client.clientId) || !sameSecret(presented.clientSecret, client.clientSecret)) {
    return { ok: false, answer: invalidClient('Client authentication failed.') };
  }
  const bodyClientId = params.get('client_id');
  if (bodyClientId !== undefined && bodyClientId !== client.clientId) {
    return { ok: false, answer: oauthError('invalid_request', 'client_id in the body does not match the authenticated client.') };
  }
  return { ok: true, clientId: client.clientId };
}

/** RFC 7617 with RFC 6749 §2.3.1's form encoding of each half; undefined when the header is anything else. */
export function readBasicCredentials(authorization: string): ClientCredentials | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || clientSecret === undefined || clientId === '') return undefined;
  return { clientId, clientSecret };
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Compares digests so neither the length nor the first differing byte shows in the timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function invalidClient(description: string): TokenAnswer {
  // §5.2: 401 with a challenge for the scheme the client must use.
  return { status: 401, body: { error: 'invalid_client', error_description: description }, wwwAuthenticate: BASIC_CHALLENGE };
}

function oauthError(error: Exclude<OAuthErrorCode, 'invalid_client'>, description: string): TokenAnswer {
  return { status: 400, body: { error, error_description: description } };
}
