// Pure parsers for what X answers under OAuth 2.0, and what each failure
// means for the operator. Every answer is untrusted: a field that is missing
// or odd makes the whole answer unusable.
import type { ErrorCode } from '../errors.js';
import { checkedProfile, loggableMessage, type Parsed, type ProfileAnswer } from './responses.js';

export interface TokenAnswer {
  readonly accessToken: string;
  /** Seconds; undefined when X left it out (RFC 6749 §5.1 only recommends it). */
  readonly expiresIn: number | undefined;
  /** The scopes granted; undefined when X left them out, which §5.1 allows only when they are the ones asked for. */
  readonly scopes: readonly string[] | undefined;
}

// RFC 6750 §2.1: the token is sent back as `Bearer <b64token>`, so nothing else is accepted.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 4096;
// RFC 6749 §3.3 and Appendix A.4: scope-token = 1*NQCHAR.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
// Appendix A.7: error = 1*NQSCHAR.
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/;

/** RFC 6749 §5.1: the token answer of the code exchange. */
export function parseTokenAnswer(body: string): Parsed<TokenAnswer> {
  const json = parseObject(body);
  if (json === undefined) return { ok: false, reason: 'the token answer is not a JSON object' };
  // §7.1: the token type is case-insensitive; roost can use nothing but a bearer token.
  if (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer') {
    return { ok: false, reason: 'token_type is not bearer' };
  }
  const token = json.access_token;
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
    return { ok: false, reason: 'access_token is missing or malformed' };
  }
  let expiresIn: number | undefined;
  if (json.expires_in !== undefined) {
    if (typeof json.expires_in !== 'number' || !Number.isSafeInteger(json.expires_in) || json.expires_in <= 0) {
      return { ok: false, reason: 'expires_in is not a positive whole number of seconds' };
    }
    expiresIn = json.expires_in;
  }
  let scopes: string[] | undefined;
  if (json.scope !== undefined) {
    if (typeof json.scope !== 'string') return { ok: false, reason: 'scope is not a string' };
    scopes = json.scope.split(' ');
    if (!scopes.every((scope) => SCOPE_TOKEN.test(scope))) return { ok: false, reason: 'scope is malformed' };
  }
  return { ok: true, value: { accessToken: token, expiresIn, scopes } };
}

export interface OAuth2ErrorBody {
  /** RFC 6749 §5.2 `error`, when the answer carried a well-formed one. */
  readonly error: string | undefined;
  /** `error_description`, raw: made loggable before it goes anywhere. */
  readonly description: string | undefined;
}

/** RFC 6749 §5.2: `{"error": "...", "error_description": "..."}` from the token and revocation endpoints. */
export function parseOAuth2Error(body: string): OAuth2ErrorBody {
  const json = parseObject(body);
  if (json === undefined) return { error: undefined, description: undefined };
  return {
    error: typeof json.error === 'string' && ERROR_CODE.test(json.error) ? json.error : undefined,
    description: typeof json.error_description === 'string' ? json.error_description : undefined,
  };
}

export interface ApiErrorBody {
  /** The numeric code of X's older error shape, if any. */
  readonly code: number | undefined;
  /** Title and detail (or message) joined, raw: made loggable before it goes anywhere. */
  readonly message: string | undefined;
  /** The problem `type` or `reason` X gave, e.g. https://api.x.com/2/problems/client-forbidden. */
  readonly kind: string | undefined;
}

/**
 * X API v2 errors: a problem object (`{"title","detail","type"}`), or an
 * `errors` array of either shape (`{"title","detail","type"}` or the older
 * `{"code","message"}`); the first entry speaks for all.
 */
export function parseApiError(body: string): ApiErrorBody {
  const json = parseObject(body);
  if (json === undefined) return { code: undefined, message: undefined, kind: undefined };
  const entry = Array.isArray(json.errors) && isObject(json.errors[0]) ? json.errors[0] : json;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const parts = [text(entry.title), text(entry.detail) ?? text(entry.message)].filter((part) => part !== undefined);
  return {
    code: typeof entry.code === 'number' ? entry.code : undefined,
    message: parts.length > 0 ? parts.join(': ') : undefined,
    kind: [text(entry.reason), text(entry.type)].filter((part) => part !== undefined).join(' ') || undefined,
  };
}

/**
 * /2/users/me: `{"data": {...}}`. X may answer 200 with only `errors`
 * (no `data`): that is a failure, not an empty profile. The id is X's
 * numeric user id as a string, the key of the account under either protocol.
 */
export function parseUsersMe(body: string): Parsed<ProfileAnswer> {
  const json = parseObject(body);
  if (json === undefined) return { ok: false, reason: 'the answer is not a JSON object' };
  if (json.data === undefined && json.errors !== undefined) return { ok: false, reason: 'X answered errors and no user' };
  const user = json.data;
  if (!isObject(user)) return { ok: false, reason: 'the answer has no data object' };
  // confirmed_email carries confirmed addresses only; never invented.
  return checkedProfile({ id: user.id, username: user.username, name: user.name, picture: user.profile_image_url, email: user.confirmed_email });
}


export interface RateLimitWait {
  /** When X resets the limit, in milliseconds since the epoch. */
  readonly resetAtMs: number;
  /** Whole seconds from now until then, at least 1. */
  readonly seconds: number;
}

// X's windows are 15 minutes or a day; a reset further out is not believed.
const MAX_RATE_LIMIT_WAIT_SECONDS = 2 * 24 * 60 * 60;

/** `x-rate-limit-reset` (epoch seconds) turned into a wait; undefined when missing or unbelievable. */
export function rateLimitWait(resetHeader: string | undefined, nowMs: number): RateLimitWait | undefined {
  if (resetHeader === undefined || !/^\d{1,12}$/.test(resetHeader.trim())) return undefined;
  const resetAtMs = Number(resetHeader.trim()) * 1000;
  const seconds = Math.max(1, Math.ceil((resetAtMs - nowMs) / 1000));
  if (seconds > MAX_RATE_LIMIT_WAIT_SECONDS) return undefined;
  return { resetAtMs: Math.max(resetAtMs, nowMs), seconds };
}

/** Which call failed: the code exchange, the profile read or the revocation. */
export type OAuth2Endpoint = '2/oauth2/token' | '2/users/me' | '2/oauth2/revoke';

export interface OAuth2FailureContext {
  readonly endpoint: OAuth2Endpoint;
  readonly status: number;
  /** The RFC 6749 §5.2 error code, from the token and revocation endpoints. */
  readonly error?: string;
  /** The API error's kind (problem type or reason), from /2/users/me. */
  readonly kind?: string;
  /** X's own words, already made loggable. */
  readonly said?: string;
  /** The redirect_uri of the code exchange, named when X refuses it. */
  readonly callbackUrl?: string;
  readonly rateLimit?: RateLimitWait;
}

export interface OAuth2Failure {
  readonly code: ErrorCode;
  readonly detail: string;
  /** For a rate limit: seconds until X takes calls again, sent as Retry-After. */
  readonly retryAfterSeconds?: number;
}

/**
 * What an error answer from X means, and for whom: a sign-in the user must
 * start again, a setting the operator must fix (named), or X being down or
 * busy. Codes are roost's stable ones, shared with the OAuth 1.0a client.
 */
export function describeOAuth2Failure(context: OAuth2FailureContext): OAuth2Failure {
  const { endpoint, status, error } = context;
  const said = [error, context.said].filter((part) => part !== undefined && part !== '').join(': ');
  const tag = said === '' ? '' : ` (${said})`;
  if (status === 429) return rateLimited(context);
  if (status >= 500) return { code: 'twitter_unavailable', detail: `X answered ${endpoint} with HTTP ${status}${tag}` };
  if (endpoint === '2/users/me') return describeApiFailure(context, said);

  const description = context.said ?? '';
  if (error === 'invalid_client' || error === 'unauthorized_client' || (status === 401 && error === undefined)) {
    return {
      code: 'twitter_auth_failed',
      detail:
        `X could not authenticate roost at ${endpoint}${tag}: check TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET ` +
        "(the OAuth 2.0 Client ID and Client Secret of a confidential client in X's developer portal, not the API key and secret of OAuth 1.0a)",
    };
  }
  if (endpoint === '2/oauth2/revoke' && (error === 'invalid_grant' || (error === 'invalid_request' && /token/i.test(description)))) {
    return { code: 'twitter_token_invalid', detail: `X found the token already invalid or expired at ${endpoint}${tag}; there is nothing left to revoke` };
  }
  if (error === 'invalid_request' && /redirect|callback/i.test(description)) {
    return {
      code: 'twitter_callback_not_approved',
      detail:
        `X refused the callback URL at ${endpoint}${tag}: the callback URL ${context.callbackUrl ?? 'PUBLIC_URL/login/callback'} ` +
        "is not registered for this client in X's developer portal; add it there exactly as written (scheme, host, port and path)",
    };
  }
  // X answers an expired, used or foreign code, or a verifier that does not
  // match, with invalid_request and these words rather than invalid_grant.
  if (error === 'invalid_grant' || (error === 'invalid_request' && /authorization code|code.?verifier|code.?challenge/i.test(description))) {
    return { code: 'twitter_rejected_verifier', detail: 'X did not accept this sign-in (the code expired, was already used or belongs to another attempt); start again' };
  }
  if (error === 'invalid_request' || error === 'unsupported_grant_type') {
    return {
      code: 'twitter_bad_authentication_data',
      detail: `X found the request to ${endpoint} malformed${tag}: check that TWITTER_API_URL points at X and that no proxy in between changes the body or drops the Authorization header`,
    };
  }
  return { code: 'twitter_unavailable', detail: `X answered ${endpoint} with HTTP ${status}${tag}` };
}

function describeApiFailure(context: OAuth2FailureContext, said: string): OAuth2Failure {
  const { endpoint, status } = context;
  const tag = said === '' ? '' : ` (${said})`;
  if (status === 401) {
    return {
      code: 'twitter_token_invalid',
      detail: `X refused the access token it had just issued at ${endpoint} as invalid or expired (HTTP 401${said === '' ? '' : `: ${said}`}); start the sign-in again`,
    };
  }
  if (status === 403 && /client-forbidden|client-not-enrolled/.test(context.kind ?? '')) {
    return {
      code: 'twitter_app_suspended',
      detail: `X refuses the app of TWITTER_CLIENT_ID at ${endpoint}${tag}: attach the app to a Project with access to X API v2 in X's developer portal`,
    };
  }
  return { code: 'twitter_unavailable', detail: `X answered ${endpoint} with HTTP ${status}${tag}` };
}

function rateLimited(context: OAuth2FailureContext): OAuth2Failure {
  const wait = context.rateLimit;
  if (wait === undefined) {
    return { code: 'rate_limited', detail: `X's rate limit for ${context.endpoint} is used up, and X did not say until when; try again in a few minutes` };
  }
  const until = new Date(Math.floor(wait.resetAtMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return {
    code: 'rate_limited',
    detail: `X's rate limit for ${context.endpoint} is used up until ${until} (in ${wait.seconds} s); sign-ins through X resume then`,
    retryAfterSeconds: wait.seconds,
  };
}

// Names of the values a request to X carries that must never be logged, in
// `name=value` or `"name":"value"` form: a server may echo them in its words.
const SECRET_PARAMETERS = /\b(code|code_verifier|access_token|refresh_token|token|client_secret|client_assertion)("?\s*[=:]\s*)("[^"]*"|[^\s,&"}]*)/gi;

/** X's words made safe to log or show: the secrets of the request blanked, parameter values hidden, one short printable line. */
export function loggableOAuth2Message(message: string | undefined, ...sentSecrets: ReadonlyArray<string | undefined>): string | undefined {
  if (message === undefined) return undefined;
  const secrets = sentSecrets.flatMap((secret) => (secret ? [secret, encodeURIComponent(secret), new URLSearchParams([['', secret]]).toString().slice(1)] : []));
  // Blanked before the parameter pass, so a secret never survives in a form the pattern misses.
  let blanked = message;
  for (const secret of secrets) blanked = blanked.split(secret).join('[token]');
  return loggableMessage(blanked.replace(SECRET_PARAMETERS, '$1$2[redacted]'));
}

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(body);
    return isObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
