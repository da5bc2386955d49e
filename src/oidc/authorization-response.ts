// Where the browser goes when an authorization request ends: the client's
// redirect_uri, exactly as it was sent and matched, with the answer added to
// its query (RFC 6749 §4.1.2: the existing query is kept). Every answer,
// success or error, carries `iss` (RFC 9207 §2), so a client that talks to
// several providers can tell which one answered (mix-up attacks, RFC 9700
// §4.4), and `state` when the request had one.
import { withQuery } from '../sign-in/return-to.js';
import type { AuthorizationErrorCode } from './authorize-request.js';

/** The errors a redirect can carry: the request's own, and those of the sign-in that follows (OIDC Core §3.1.2.6). */
export type AuthorizationResponseError = AuthorizationErrorCode | 'access_denied' | 'login_required' | 'server_error' | 'temporarily_unavailable';

export function codeResponseUrl(redirectUri: string, answer: { readonly code: string; readonly state?: string | undefined; readonly issuer: string }): string {
  return withQuery(redirectUri, { code: answer.code, ...withState(answer.state), iss: answer.issuer });
}

export function errorResponseUrl(
  redirectUri: string,
  answer: { readonly error: AuthorizationResponseError; readonly description: string; readonly state?: string | undefined; readonly issuer: string },
): string {
  return withQuery(redirectUri, { error: answer.error, error_description: answer.description, ...withState(answer.state), iss: answer.issuer });
}

function withState(state: string | undefined): { state?: string } {
  return state === undefined ? {} : { state };
}
