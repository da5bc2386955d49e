// The X OAuth 2.0 client: Authorization Code with PKCE (RFC 6749 §4.1,
// RFC 7636) as a confidential client, then the profile from /2/users/me.
// The requests are built in oauth2-requests.ts and the answers read in
// oauth2-responses.ts; this file sends them and turns failures into AppError.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../errors.js';
import { authorizeLocation, basicAuthorization, codeExchangeBody, revocationBody, scopesFor, usersMeUrl } from './oauth2-requests.js';
import {
  describeOAuth2Failure,
  loggableOAuth2Message,
  parseApiError,
  parseOAuth2Error,
  parseTokenAnswer,
  parseUsersMe,
  rateLimitWait,
  type OAuth2Endpoint,
} from './oauth2-responses.js';
import { createOutboundHttp, OutboundError } from './outbound-http.js';
import { clockSkewSeconds } from './responses.js';
import type { TwitterErrorEvent } from './client.js';
import type { EmailMode, TimedCall, Upstream } from './upstream.js';

export interface OAuth2UpstreamOptions {
  /** Where X's API answers, e.g. https://api.x.com (no trailing slash). */
  readonly apiUrl: string;
  /** Where the browser approves the sign-in; X's is https://x.com/i/oauth2/authorize. */
  readonly authorizeUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs: number;
  readonly email: EmailMode;
  /** Wraps each call to X under its endpoint name (the metrics time and count them). */
  readonly timed?: TimedCall;
  /** Told of every error answer from X; the event never carries a token, code, verifier or secret. */
  readonly onTwitterError?: (event: TwitterErrorEvent) => void;
  /** The clock compared with X's Date header and rate-limit resets; defaults to Date.now. */
  readonly now?: () => number;
}

const MAX_ANSWER_BYTES = 64 * 1024;
const FORM = 'application/x-www-form-urlencoded';
const JSON_ACCEPT = 'application/json';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
  readonly date: string | null;
}

/** What a call sent that must never be logged: X may echo any of it in an error. */
type Secrets = ReadonlyArray<string | undefined>;

export function createOAuth2Upstream(options: OAuth2UpstreamOptions): Upstream {
  const now = options.now ?? Date.now;
  const timed: TimedCall = options.timed ?? ((_endpoint, work) => work());
  const authorization = basicAuthorization(options.clientId, options.clientSecret);
  // Sent with every call: blanked from whatever X says back, in each form it could take.
  const clientSecrets = [options.clientSecret, authorization.slice('Basic '.length)];
  const outbound = createOutboundHttp({ timeoutMs: options.timeoutMs, maxBodyBytes: MAX_ANSWER_BYTES });

  const send = async (endpoint: string, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Answer> => {
    try {
      return await outbound.request(method, target, headers, body);
    } catch (error) {
      const kind = error instanceof OutboundError ? error.kind : 'unreachable';
      if (kind === 'too_large') throw new AppError('twitter_bad_response', `X's answer to ${endpoint} is larger than ${MAX_ANSWER_BYTES} bytes`);
      if (kind === 'timeout') throw new AppError('twitter_timeout', `X did not answer ${endpoint} within ${options.timeoutMs} ms`, { cause: error });
      throw new AppError('twitter_unavailable', `X could not be reached for ${endpoint}`, { cause: error });
    }
  };

  /** Reports X's error answer and returns the AppError it means. */
  const failure = (endpoint: OAuth2Endpoint, answer: Answer, secrets: Secrets, callbackUrl?: string): AppError => {
    const fromApi = endpoint === '2/users/me';
    const oauth = fromApi ? undefined : parseOAuth2Error(answer.body);
    const api = fromApi ? parseApiError(answer.body) : undefined;
    const said = loggableOAuth2Message(oauth?.description ?? api?.message, ...secrets, ...clientSecrets);
    // The error code is X's word too: one that carries anything sent is not believed.
    const error = oauth?.error !== undefined && loggableOAuth2Message(oauth.error, ...secrets, ...clientSecrets) === oauth.error ? oauth.error : undefined;
    report(endpoint, answer.status, api?.code, [error, said].filter(Boolean).join(': ') || undefined);
    const described = describeOAuth2Failure({
      endpoint,
      status: answer.status,
      error,
      kind: api?.kind,
      said,
      callbackUrl,
      rateLimit: rateLimitWait(single(answer.headers['x-rate-limit-reset']), now()),
    });
    const headers = described.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(described.retryAfterSeconds) };
    return new AppError(described.code, described.detail, { headers, members: error ? { twitter_error: error } : {} });
  };

  const report = (endpoint: string, status: number, code: number | undefined, message: string | undefined) => {
    options.onTwitterError?.({ endpoint, status, code, message });
  };

  const badAnswer = (endpoint: string, reason: string) => new AppError('twitter_bad_response', `X's answer to ${endpoint} was unusable: ${reason}`);

  // Each call is timed whole, answer checks included: an error answer counts as a failed call.
  const exchangeCode = (code: string, codeVerifier: string, callbackUrl: string): Promise<string> => {
    const endpoint = '2/oauth2/token';
    return timed(endpoint, async () => {
      const body = codeExchangeBody({ clientId: options.clientId, code, callbackUrl, codeVerifier });
      const answer = await send(endpoint, 'POST', `${options.apiUrl}/2/oauth2/token`, { authorization, 'content-type': FORM, accept: JSON_ACCEPT }, body);
      if (answer.status !== 200) throw failure(endpoint, answer, [code, codeVerifier], callbackUrl);
      const parsed = parseTokenAnswer(answer.body);
      if (!parsed.ok) throw badAnswer(endpoint, parsed.reason);
      return parsed.value.accessToken;
    });
  };

  const readProfile = (accessToken: string) => timed('2/users/me', () => fetchProfile(accessToken));

  const fetchProfile = async (accessToken: string) => {
    const endpoint = '2/users/me';
    const answer = await send(endpoint, 'GET', usersMeUrl(options.apiUrl, options.email), { authorization: `Bearer ${accessToken}`, accept: JSON_ACCEPT });
    if (answer.status !== 200) throw failure(endpoint, answer, [accessToken]);
    const parsed = parseUsersMe(answer.body);
    if (parsed.ok) return parsed.value;
    // A 200 with only `errors` is X refusing, in its own words: reported like any error answer.
    const error = parseApiError(answer.body);
    const said = loggableOAuth2Message(error.message, accessToken, ...clientSecrets);
    if (error.message !== undefined) report(endpoint, answer.status, error.code, said);
    throw badAnswer(endpoint, said === undefined ? parsed.reason : `${parsed.reason} (${said})`);
  };

  return {
    protocol: 'oauth2',

    async begin(callbackUrl) {
      // RFC 6749 §10.12: an unguessable state binds X's answer to this attempt;
      // RFC 7636 §7.1: 32 random octets make the verifier (43 characters).
      const state = randomBytes(32).toString('base64url');
      const codeVerifier = randomBytes(32).toString('base64url');
      const location = authorizeLocation({
        authorizeUrl: options.authorizeUrl,
        clientId: options.clientId,
        callbackUrl,
        scopes: scopesFor(options.email),
        state,
        codeVerifier,
      });
      return { location, handle: state, secret: codeVerifier };
    },

    async complete(flow, code, callbackUrl) {
      if (code === '') throw new AppError('twitter_rejected_verifier', 'X sent no authorization code; start again');
      const accessToken = await exchangeCode(code, flow.secret, callbackUrl);
      const profile = await readProfile(accessToken);
      return {
        // With email off, no address is kept even if X sent one.
        profile: options.email === 'off' ? { ...profile, email: null } : profile,
        credentials: { protocol: 'oauth2', token: accessToken, secret: null },
      };
    },

    async revoke(credentials) {
      if (credentials.protocol !== 'oauth2') {
        throw new AppError('internal_error', 'these credentials were issued under OAuth 1.0a; the OAuth 2.0 client cannot revoke them');
      }
      const endpoint = '2/oauth2/revoke';
      const body = revocationBody(options.clientId, credentials.token);
      await timed(endpoint, async () => {
        const answer = await send(endpoint, 'POST', `${options.apiUrl}/2/oauth2/revoke`, { authorization, 'content-type': FORM, accept: JSON_ACCEPT }, body);
        // RFC 7009 §2.2: 200 whether or not the token was still valid.
        if (answer.status !== 200) throw failure(endpoint, answer, [credentials.token]);
      });
    },

    async checkClock() {
      try {
        // No credentials: any answer carries a Date header, even a 404.
        const answer = await send('clock check', 'HEAD', `${options.apiUrl}/`, {});
        return clockSkewSeconds(answer.date, now());
      } catch {
        return undefined;
      }
    },
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
