// Checks one signed request the way Twitter does, in Twitter's order and with
// Twitter's error codes. Knows nothing of Fastify: the provider hands it the
// request parts and a way to find the token secret.
import { parseAuthorizationHeader, parseFormEncoded, verifyRequestSignature, type Param } from './oauth1-signature.js';
import type { SandboxStore } from './store.js';

/** RFC 5849 §3.3 leaves the window to the server; Twitter allows five minutes either way. */
export const TIMESTAMP_WINDOW_MS = 300 * 1000;

export interface TwitterFailure {
  readonly ok: false;
  readonly status: number;
  readonly code: number;
  readonly message: string;
}

export const FAILURES = {
  badAuthenticationData: { ok: false, status: 400, code: 215, message: 'Bad Authentication data.' },
  couldNotAuthenticate: { ok: false, status: 401, code: 32, message: 'Could not authenticate you.' },
  invalidToken: { ok: false, status: 401, code: 89, message: 'Invalid or expired token.' },
  timestampOutOfBounds: { ok: false, status: 401, code: 135, message: 'Timestamp out of bounds.' },
  callbackNotApproved: {
    ok: false,
    status: 403,
    code: 415,
    message: 'Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings',
  },
} as const satisfies Record<string, TwitterFailure>;

export interface SignedRequestInput {
  readonly method: string;
  /** The absolute URL the client is expected to have signed, without query. */
  readonly url: string;
  readonly authorization: string | undefined;
  /** The raw query string, without `?`. */
  readonly query: string;
  /** The raw body when it is application/x-www-form-urlencoded (§3.4.1.3.1), otherwise undefined. */
  readonly formBody: string | undefined;
}

export interface VerifierContext {
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly now: () => number;
  readonly store: SandboxStore;
}

export interface VerifiedRequest<T> {
  readonly ok: true;
  /** The protocol parameters from the header, decoded. */
  readonly oauth: Readonly<Record<string, string>>;
  /** The form-encoded body parameters, if any. */
  readonly form: readonly Param[];
  /** What the token lookup returned for oauth_token. */
  readonly token: T;
}

/**
 * Verifies a signed request. `lookupToken` finds the live credentials named
 * by oauth_token; 'no-token' means the request must carry none
 * (request_token, RFC 5849 §2.1). A failure is Twitter's error for it.
 */
export function verifySignedRequest(context: VerifierContext, input: SignedRequestInput, lookupToken: 'no-token'): VerifiedRequest<undefined> | TwitterFailure;
export function verifySignedRequest<T extends { readonly secret: string }>(
  context: VerifierContext,
  input: SignedRequestInput,
  lookupToken: (token: string) => T | undefined,
): VerifiedRequest<T> | TwitterFailure;
export function verifySignedRequest<T extends { readonly secret: string }>(
  context: VerifierContext,
  input: SignedRequestInput,
  lookupToken: 'no-token' | ((token: string) => T | undefined),
): VerifiedRequest<T | undefined> | TwitterFailure {
  // A Host header that makes no URL leaves nothing to verify against.
  if (input.authorization === undefined || !URL.canParse(input.url)) return FAILURES.badAuthenticationData;
  const parsed = parseAuthorizationHeader(input.authorization);
  if (!parsed.ok) return FAILURES.badAuthenticationData;
  const oauth = parsed.params;
  const {
    oauth_consumer_key: consumerKey,
    oauth_nonce: nonce,
    oauth_signature: signature,
    oauth_signature_method: signatureMethod,
    oauth_timestamp: timestamp,
  } = oauth;
  // §3.1: these are required in every signed request.
  if (consumerKey === undefined || nonce === undefined || signature === undefined || signatureMethod === undefined || timestamp === undefined) {
    return FAILURES.badAuthenticationData;
  }
  // §3.1: oauth_version is optional, and must be 1.0 when present.
  if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return FAILURES.badAuthenticationData;
  // Twitter signs with HMAC-SHA1 only (§3.4.2); PLAINTEXT and RSA-SHA1 are refused.
  if (signatureMethod !== 'HMAC-SHA1') return FAILURES.badAuthenticationData;
  if (consumerKey !== context.consumerKey) return FAILURES.couldNotAuthenticate;

  if (!/^[0-9]{1,12}$/.test(timestamp)) return FAILURES.badAuthenticationData;
  const timestampMs = Number(timestamp) * 1000;
  if (Math.abs(timestampMs - context.now()) > TIMESTAMP_WINDOW_MS) return FAILURES.timestampOutOfBounds;

  const tokenName = oauth.oauth_token;
  let token: T | undefined;
  if (lookupToken === 'no-token') {
    if (tokenName !== undefined) return FAILURES.badAuthenticationData;
  } else {
    if (tokenName === undefined) return FAILURES.badAuthenticationData;
    token = lookupToken(tokenName);
    if (token === undefined) return FAILURES.invalidToken;
  }

  const form = input.formBody === undefined ? [] : parseFormEncoded(input.formBody);
  // §3.4.1.3.1: the signed parameters are the query, the header's protocol
  // parameters except oauth_signature (realm was set apart when parsing), and
  // a form-encoded body.
  const params: Param[] = [
    ...parseFormEncoded(input.query),
    ...Object.entries(oauth).filter(([name]) => name !== 'oauth_signature'),
    ...form,
  ];
  const signed = verifyRequestSignature({
    method: input.method,
    baseUrl: input.url,
    params,
    signature,
    consumerSecret: context.consumerSecret,
    tokenSecret: token?.secret ?? '',
  });
  if (!signed) return FAILURES.couldNotAuthenticate;

  // §3.3: a nonce is unique per timestamp, client and token. It is recorded
  // only once the signature holds, so forged requests cannot burn nonces.
  const nonceKey = JSON.stringify([consumerKey, tokenName, timestamp, nonce]);
  if (!context.store.rememberNonce(nonceKey, timestampMs + TIMESTAMP_WINDOW_MS + 1000)) return FAILURES.couldNotAuthenticate;

  return { ok: true, oauth, form, token };
}
