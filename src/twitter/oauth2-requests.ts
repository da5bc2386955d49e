// What roost sends to X under OAuth 2.0 (RFC 6749 Authorization Code with
// PKCE, RFC 7636), built as plain values: the authorization URL, the client's
// HTTP Basic credentials and the form bodies. Randomness and I/O stay in
// oauth2-client.ts.
import { createHash } from 'node:crypto';
import type { EmailMode } from './upstream.js';

/**
 * The scopes a sign-in needs: `users.read` for /2/users/me, and `tweet.read`,
 * which X requires for every user-context call even when no post is read.
 * `users.email` only when the operator wants addresses. Never
 * `offline.access`: roost keeps no refresh token at X, so it asks for none.
 */
export function scopesFor(email: EmailMode): readonly string[] {
  return email === 'off' ? ['tweet.read', 'users.read'] : ['tweet.read', 'users.read', 'users.email'];
}

/** The user fields /2/users/me is asked for; `confirmed_email` only when the email is wanted. */
export function userFieldsFor(email: EmailMode): readonly string[] {
  const fields = ['id', 'name', 'username', 'profile_image_url'];
  return email === 'off' ? fields : [...fields, 'confirmed_email'];
}

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636 §4.1: 43 to 128 characters of A-Z a-z 0-9 - . _ ~ */
export function isCodeVerifier(value: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(value);
}

export interface AuthorizeRequest {
  readonly authorizeUrl: string;
  readonly clientId: string;
  readonly callbackUrl: string;
  readonly scopes: readonly string[];
  readonly state: string;
  readonly codeVerifier: string;
}

/** RFC 6749 §4.1.1 with RFC 7636 §4.3: where the browser goes to approve the sign-in at X. */
export function authorizeLocation(request: AuthorizeRequest): string {
  const url = new URL(request.authorizeUrl);
  // Appendix B: the query is form-encoded (a space in the scope list is '+').
  url.searchParams.append('response_type', 'code');
  url.searchParams.append('client_id', request.clientId);
  url.searchParams.append('redirect_uri', request.callbackUrl);
  url.searchParams.append('scope', request.scopes.join(' '));
  url.searchParams.append('state', request.state);
  url.searchParams.append('code_challenge', s256Challenge(request.codeVerifier));
  // S256 only: `plain` would put the verifier itself in the browser's address bar (RFC 7636 §7.2).
  url.searchParams.append('code_challenge_method', 'S256');
  return url.href;
}

/**
 * RFC 6749 §2.3.1: the client id and secret are each form-encoded, then
 * joined by ':' and base64-encoded. Encoding first is what lets a ':' or a
 * non-ASCII character live in either.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64')}`;
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

export interface CodeExchange {
  readonly clientId: string;
  readonly code: string;
  readonly callbackUrl: string;
  readonly codeVerifier: string;
}

/**
 * RFC 6749 §4.1.3 with RFC 7636 §4.5. The redirect_uri must be the one the
 * authorization request carried, byte for byte. `client_id` also travels in
 * the body, as X's documentation shows, besides the Basic credentials.
 */
export function codeExchangeBody(exchange: CodeExchange): string {
  return new URLSearchParams([
    ['grant_type', 'authorization_code'],
    ['code', exchange.code],
    ['redirect_uri', exchange.callbackUrl],
    ['code_verifier', exchange.codeVerifier],
    ['client_id', exchange.clientId],
  ]).toString();
}

/** RFC 7009 §2.1: the token to revoke and what kind it is. */
export function revocationBody(clientId: string, accessToken: string): string {
  return new URLSearchParams([
    ['token', accessToken],
    ['token_type_hint', 'access_token'],
    ['client_id', clientId],
  ]).toString();
}

/** /2/users/me, asking for the fields ProfileAnswer is made of. */
export function usersMeUrl(apiUrl: string, email: EmailMode): string {
  // user.fields is a comma-separated list: the commas stay literal.
  return `${apiUrl}/2/users/me?user.fields=${userFieldsFor(email).join(',')}`;
}
