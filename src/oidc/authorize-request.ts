// The authorization request of the code flow (OIDC Core §3.1.2.1, RFC 6749
// §4.1.1, RFC 7636 §4.3), checked before a person is sent to X. The client
// and its redirect_uri come first: until both are known good nothing is
// redirected anywhere (RFC 6749 §4.1.2.1, RFC 9700 §4.1.3), and the person
// sees a page instead. Every later error goes back to the client.
import { findRedirectUri } from '../sign-in/redirect-uris.js';
import type { ClientStore, OidcClient } from './clients.js';
import { NONCE_MAX_LENGTH, STATE_MAX_LENGTH, isVsChars, readParam, type RawParams } from './request-params.js';
import { parseScope, type OidcScope } from './scopes.js';

/** OIDC Core §3.1.2.1. What roost does with each is written beside PromptRequest. */
export const PROMPT_VALUES = ['none', 'login', 'consent', 'select_account'] as const;

/**
 * What the client asked of the sign-in. roost has no screens of its own: a
 * sign-in is a trip to X, where the person picks an account and approves,
 * or the browser session that trip left at roost (single sign-on). So:
 * - `none`: the browser session answers, or login_required when there is
 *   none usable (or none recent enough for max_age);
 * - `login`, and `consent` and `select_account` with it: a new trip to X,
 *   since X's pages are where the person signs in, picks the account and
 *   approves, and the clients are registered by the operator.
 */
export type PromptRequest = 'none' | 'login';

export interface AuthorizationRequest {
  readonly client: OidcClient;
  /** The redirect_uri exactly as sent (a loopback port included): the answer goes there, and /token must see the same string. */
  readonly redirectUri: string;
  readonly scopes: readonly OidcScope[];
  readonly state?: string;
  readonly nonce?: string;
  /** S256 (RFC 7636 §4.2); always present for a public client. */
  readonly codeChallenge?: string;
  readonly prompt?: PromptRequest;
  /** Seconds (§3.1.2.1); the ID token then carries auth_time, as it always does. */
  readonly maxAge?: number;
}

/** The error codes of RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6 that this check can give. */
export type AuthorizationErrorCode =
  | 'invalid_request'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported';

export type AuthorizationCheck =
  /** The client or its redirect_uri is not known good: show a page, never redirect. */
  | { readonly kind: 'page-error'; readonly reason: string }
  /** Redirect to redirectUri with error, error_description, state (when valid) and iss (RFC 9207). */
  | { readonly kind: 'redirect-error'; readonly redirectUri: string; readonly state?: string; readonly error: AuthorizationErrorCode; readonly description: string }
  | { readonly kind: 'accepted'; readonly request: AuthorizationRequest };

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** max_age: decimal seconds, at most about 68 years (what fits a signed 32-bit number). */
const MAX_AGE = /^\d{1,10}$/;
const MAX_AGE_LIMIT = 2 ** 31 - 1;

/** `params`: the query (GET) or the form body (POST), decoded; a name given twice arrives as a list. */
export function checkAuthorizationRequest(params: RawParams, clients: ClientStore): AuthorizationCheck {
  const clientId = readParam(params, 'client_id');
  if (clientId.kind === 'absent') return page('client_id is missing');
  if (clientId.kind === 'repeated') return page('client_id is given more than once');
  const client = clients.find(clientId.value);
  if (client === undefined) return page('client_id is not a registered client');

  const redirect = readParam(params, 'redirect_uri');
  // OIDC Core §3.1.2.1 makes redirect_uri required; there is no default.
  if (redirect.kind === 'absent') return page('redirect_uri is missing');
  if (redirect.kind === 'repeated') return page('redirect_uri is given more than once');
  // A loopback port is read as a URL's port: it must be one, or the answer would go to no address.
  if (!URL.canParse(redirect.value) || findRedirectUri(redirect.value, client.redirectUris) === undefined) {
    return page('redirect_uri is not one of the redirect URIs registered for this client; it must match one exactly');
  }
  const redirectUri = redirect.value;

  // From here the client is known and so is where it wants answers: errors go there.
  const stateParam = readParam(params, 'state');
  const state = stateParam.kind === 'given' && isVsChars(stateParam.value, STATE_MAX_LENGTH) ? stateParam.value : undefined;
  const refuse = (error: AuthorizationErrorCode, description: string): AuthorizationCheck => ({
    kind: 'redirect-error',
    redirectUri,
    ...(state !== undefined ? { state } : {}),
    error,
    description,
  });
  if (stateParam.kind === 'repeated') return refuse('invalid_request', 'state is given more than once');
  if (stateParam.kind === 'given' && state === undefined) return refuse('invalid_request', `state must be 1 to ${STATE_MAX_LENGTH} printable ASCII characters`);

  const repeated = ['response_type', 'scope', 'nonce', 'prompt', 'max_age', 'code_challenge', 'code_challenge_method', 'response_mode', 'request', 'request_uri', 'registration'].find(
    (name) => readParam(params, name).kind === 'repeated',
  );
  if (repeated !== undefined) return refuse('invalid_request', `${repeated} is given more than once`);

  // §3.1.2.6: request objects and dynamic registration are not supported (and say so in discovery).
  if (readParam(params, 'request').kind === 'given') return refuse('request_not_supported', 'the request parameter is not supported');
  if (readParam(params, 'request_uri').kind === 'given') return refuse('request_uri_not_supported', 'the request_uri parameter is not supported');
  if (readParam(params, 'registration').kind === 'given') return refuse('registration_not_supported', 'the registration parameter is not supported');

  const responseType = readParam(params, 'response_type');
  if (responseType.kind !== 'given') return refuse('invalid_request', 'response_type is missing: it must be code');
  if (responseType.value !== 'code') return refuse('unsupported_response_type', 'response_type must be code: the authorization code flow is the only one');
  const responseMode = readParam(params, 'response_mode');
  if (responseMode.kind === 'given' && responseMode.value !== 'query') return refuse('invalid_request', 'response_mode must be query');

  const scope = readParam(params, 'scope');
  if (scope.kind !== 'given') return refuse('invalid_request', 'scope is missing: it must contain openid');
  const scopes = parseScope(scope.value);
  if (!scopes.ok) return refuse('invalid_scope', scopes.reason);

  const challenge = readParam(params, 'code_challenge');
  const method = readParam(params, 'code_challenge_method');
  if (challenge.kind === 'given') {
    // RFC 7636 §4.3 reads a missing method as plain, which would put the verifier itself in the URL (RFC 9700 §2.1.1).
    if (method.kind !== 'given' || method.value !== 'S256') return refuse('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!S256_CHALLENGE.test(challenge.value)) return refuse('invalid_request', 'code_challenge must be 43 base64url characters, the S256 hash of the verifier');
  } else {
    if (method.kind === 'given') return refuse('invalid_request', 'code_challenge_method is used only with code_challenge');
    // RFC 9700 §2.1.1: a client without a secret proves with PKCE that it is the one that started the flow.
    if (client.type === 'public') return refuse('invalid_request', 'code_challenge is required: this public client must use PKCE with S256');
  }

  const nonce = readParam(params, 'nonce');
  if (nonce.kind === 'given' && !isVsChars(nonce.value, NONCE_MAX_LENGTH)) return refuse('invalid_request', `nonce must be 1 to ${NONCE_MAX_LENGTH} printable ASCII characters`);

  const prompt = parsePrompt(readParam(params, 'prompt'));
  if (!prompt.ok) return refuse('invalid_request', prompt.reason);

  const maxAgeParam = readParam(params, 'max_age');
  let maxAge: number | undefined;
  if (maxAgeParam.kind === 'given') {
    maxAge = MAX_AGE.test(maxAgeParam.value) ? Number(maxAgeParam.value) : Number.NaN;
    if (!(maxAge <= MAX_AGE_LIMIT)) return refuse('invalid_request', 'max_age must be a whole number of seconds');
  }

  // login_hint, id_token_hint, display, ui_locales, acr_values, claims and
  // unknown parameters are ignored (RFC 6749 §3.1): none is read, stored or
  // passed on to X.
  return {
    kind: 'accepted',
    request: {
      client,
      redirectUri,
      scopes: scopes.scopes,
      ...(state !== undefined ? { state } : {}),
      ...(nonce.kind === 'given' ? { nonce: nonce.value } : {}),
      ...(challenge.kind === 'given' ? { codeChallenge: challenge.value } : {}),
      ...(prompt.value !== undefined ? { prompt: prompt.value } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
    },
  };
}

function parsePrompt(param: ReturnType<typeof readParam>): { ok: true; value: PromptRequest | undefined } | { ok: false; reason: string } {
  if (param.kind !== 'given') return { ok: true, value: undefined };
  const values = param.value.split(' ').filter((value) => value !== '');
  if (!values.every((value) => (PROMPT_VALUES as readonly string[]).includes(value))) {
    return { ok: false, reason: `prompt must be none, or any of ${PROMPT_VALUES.slice(1).join(', ')}` };
  }
  if (values.includes('none')) {
    // §3.1.2.1: "If this parameter contains none with any other value, an error is returned."
    return values.length === 1 ? { ok: true, value: 'none' } : { ok: false, reason: 'prompt=none cannot be combined with another value' };
  }
  return { ok: true, value: values.length > 0 ? 'login' : undefined };
}

function page(reason: string): AuthorizationCheck {
  return { kind: 'page-error', reason };
}
