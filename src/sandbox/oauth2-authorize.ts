// X's OAuth 2.0 authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636
// §4.3), checked in the order RFC 6749 §4.1.2.1 sets: the client and its
// redirect URI first, whose faults the person sees on a page (never a
// redirect to a URI nobody registered); then the rest, whose faults go back
// to the registered redirect URI as `error`, `error_description` and `state`.

/** The scopes X's OAuth 2.0 knows (docs.x.com, authentication/oauth-2-0/authorization-code). */
export const X_SCOPES: ReadonlySet<string> = new Set([
  'tweet.read',
  'tweet.write',
  'tweet.moderate.write',
  'users.email',
  'users.read',
  'follows.read',
  'follows.write',
  'offline.access',
  'space.read',
  'mute.read',
  'mute.write',
  'like.read',
  'like.write',
  'list.read',
  'list.write',
  'block.read',
  'block.write',
  'bookmark.read',
  'bookmark.write',
  'dm.read',
  'dm.write',
  'media.write',
]);

/** X takes a `state` of up to 500 characters. */
export const STATE_MAX_LENGTH = 500;

/** The OAuth 2.0 app registered at the sandbox: its id and the exact redirect URIs it may use. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly redirectUris: readonly string[];
}

export interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  /** In the order asked, without repeats. */
  readonly scopes: readonly string[];
  readonly state: string;
  /** S256 of the client's code_verifier, base64url without padding. */
  readonly codeChallenge: string;
}

export interface AuthorizationErrorParams {
  readonly error: 'invalid_request' | 'unsupported_response_type' | 'invalid_scope' | 'access_denied';
  readonly error_description: string;
  /** Echoed exactly as received (§4.1.2.1), when there was exactly one. */
  readonly state?: string;
}

export type AuthorizationCheck =
  | { readonly kind: 'valid'; readonly request: AuthorizationRequest }
  /** The client or redirect URI is not known: shown to the person, nothing is redirected. */
  | { readonly kind: 'page'; readonly title: string; readonly message: string }
  /** Anything else: sent back to the (registered) redirect URI. */
  | { readonly kind: 'redirect'; readonly redirectUri: string; readonly params: AuthorizationErrorParams };

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), one space between tokens.
const SCOPE_LIST = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;
// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters without padding.
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Checks the raw query of an authorize request against the registered
 * client (undefined when the sandbox has no OAuth 2.0 app, so every client is
 * unknown).
 */
export function checkAuthorizationRequest(rawQuery: string, client: RegisteredClient | undefined): AuthorizationCheck {
  const query = new URLSearchParams(rawQuery);
  // §3.1: a parameter sent without a value is treated as omitted.
  const values = (name: string) => query.getAll(name).filter((value) => value !== '');

  const clientIds = values('client_id');
  if (clientIds.length !== 1) return unknownClientPage(clientIds.length === 0 ? 'The request names no client_id.' : 'The request repeats client_id.');
  if (client === undefined || clientIds[0] !== client.clientId) return unknownClientPage('No app with this client_id is registered here.');
  const redirectUris = values('redirect_uri');
  if (redirectUris.length !== 1) {
    return redirectUriPage(redirectUris.length === 0 ? 'The request names no redirect_uri.' : 'The request repeats redirect_uri.');
  }
  const redirectUri = redirectUris[0] as string;
  // Exact string comparison, as X does (RFC 9700 §4.1.3): no prefix, no normalization.
  if (!client.redirectUris.includes(redirectUri)) return redirectUriPage('This redirect_uri is not registered for the app.');

  const states = values('state');
  const fail = (error: AuthorizationErrorParams['error'], description: string): AuthorizationCheck => ({
    kind: 'redirect',
    redirectUri,
    params: { error, error_description: description, ...(states.length === 1 ? { state: states[0] as string } : {}) },
  });

  // §3.1: request parameters must not be included more than once.
  const repeated = [...new Set(query.keys())].find((name) => values(name).length > 1);
  if (repeated !== undefined) return fail('invalid_request', `The request repeats ${repeated}.`);

  const [responseType] = values('response_type');
  if (responseType === undefined) return fail('invalid_request', 'response_type is required.');
  if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');

  const [state] = states;
  if (state === undefined) return fail('invalid_request', 'state is required.');
  if (state.length > STATE_MAX_LENGTH) return fail('invalid_request', `state must be at most ${STATE_MAX_LENGTH} characters.`);

  const [scope] = values('scope');
  if (scope === undefined) return fail('invalid_request', 'scope is required.');
  if (!SCOPE_LIST.test(scope)) return fail('invalid_scope', 'scope must be scope names separated by single spaces.');
  const scopes = [...new Set(scope.split(' '))];
  const unknown = scopes.find((name) => !X_SCOPES.has(name));
  if (unknown !== undefined) return fail('invalid_scope', `Unknown scope: ${unknown}.`);
  if (!scopes.includes('users.read')) return fail('invalid_scope', 'scope must include users.read.');

  // RFC 7636 §4.4.1: a missing challenge, or a method the server does not support, is invalid_request.
  const [method] = values('code_challenge_method');
  if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256.');
  const [challenge] = values('code_challenge');
  if (challenge === undefined) return fail('invalid_request', 'code_challenge is required.');
  if (!S256_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be 43 base64url characters (S256).');

  return { kind: 'valid', request: { clientId: client.clientId, redirectUri, scopes, state, codeChallenge: challenge } };
}

function unknownClientPage(message: string): AuthorizationCheck {
  return { kind: 'page', title: 'This app is unknown', message: `${message} Go back to the application and start again.` };
}

function redirectUriPage(message: string): AuthorizationCheck {
  return { kind: 'page', title: 'This app cannot be sent back', message: `${message} Go back to the application and start again.` };
}
