// One error type and one vocabulary of stable, snake_case codes, each with
// its HTTP status. src/http/problems.ts writes them as RFC 9457 problem details.

export const ERRORS = {
  invalid_request: { status: 400, title: 'The request is malformed' },
  return_to_not_allowed: { status: 400, title: 'return_to is not an allowed redirect target' },
  invalid_callback: { status: 400, title: 'The sign-in callback is malformed' },
  flow_not_found: { status: 400, title: 'The sign-in attempt is unknown, expired or already used' },
  flow_browser_mismatch: { status: 403, title: 'The sign-in was started in another browser' },
  twitter_rejected_verifier: { status: 400, title: 'Twitter rejected the sign-in' },
  invalid_token: { status: 401, title: 'The access token is missing or invalid' },
  invalid_grant: { status: 400, title: 'The grant is invalid, expired, revoked or already used' },
  unsupported_grant_type: { status: 400, title: 'The grant type is not supported' },
  // RFC 6749 §5.2: a registered client that did not authenticate; 401 with a Basic challenge when it tried the Authorization header.
  invalid_client: { status: 400, title: 'The client could not be authenticated' },
  invalid_client_credentials: { status: 401, title: 'The client could not be authenticated' },
  // RFC 6750 §3.1: the access token lacks the scope the resource needs.
  insufficient_scope: { status: 403, title: 'The access token does not carry the scope this needs' },
  not_found: { status: 404, title: 'Not found' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  internal_error: { status: 500, title: 'Internal error' },
  twitter_unavailable: { status: 502, title: 'Twitter failed or could not be reached' },
  twitter_bad_response: { status: 502, title: 'Twitter answered something roost cannot use' },
  twitter_timeout: { status: 504, title: 'Twitter did not answer in time' },
  // Twitter's own error codes that point at roost's setup rather than at the user.
  twitter_auth_failed: { status: 502, title: 'Twitter could not authenticate roost' },
  twitter_token_invalid: { status: 502, title: 'Twitter refused a token as invalid or expired' },
  twitter_clock_skew: { status: 502, title: "Twitter refused the request time: the server's clock is off" },
  twitter_bad_authentication_data: { status: 502, title: "Twitter found roost's authentication data malformed" },
  twitter_callback_not_approved: { status: 502, title: "Twitter has not approved roost's callback URL" },
  twitter_app_suspended: { status: 502, title: 'Twitter reports the app as invalid or suspended' },
  store_unavailable: { status: 503, title: 'The flow store (Redis) is unavailable' },
  database_unavailable: { status: 503, title: 'The database is unavailable' },
  // This replica may not sign: its current key is unopenable, or gone from the database.
  signing_key_unavailable: { status: 503, title: 'This replica cannot sign tokens' },
  // SIGN_IN_HOOK_URL erred, timed out or answered garbage, and SIGN_IN_HOOK_FAIL_OPEN is off.
  sign_in_hook_failed: { status: 503, title: 'The sign-in hook did not answer usably' },
  // Load shedding: this replica is past OVERLOAD_MAX_EVENT_LOOP_DELAY_MS or OVERLOAD_MAX_IN_FLIGHT; Retry-After says when to come back.
  overloaded: { status: 503, title: 'Too busy to answer now' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export const PROBLEM_TYPE_BASE = 'urn:roost:problem:';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Extra members of the problem (RFC 9457 §3.2), such as the OAuth `error` code or `twitter_error`. */
  readonly members: Readonly<Record<string, string | number>>;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { cause?: unknown; headers?: Record<string, string>; members?: Record<string, string | number> } = {},
  ) {
    super(`${code}: ${detail}`, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
    this.headers = options.headers ?? {};
    this.members = options.members ?? {};
  }
}
