// The Twitter OAuth 1.0a client (RFC 5849, "Sign in with Twitter"). The only
// module that speaks to Twitter, and the only importer of oauth-1.0a.
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { AppError } from '../errors.js';
import { createOutboundHttp, OutboundError } from './outbound-http.js';
import {
  clockSkewSeconds,
  describeTwitterFailure,
  loggableMessage,
  parseFormAnswer,
  parseProfile,
  parseTwitterError,
  type ProfileAnswer,
  type TwitterErrorBody,
} from './responses.js';
import type { EmailMode } from './upstream.js';

export interface TwitterClientOptions {
  readonly apiUrl: string;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly timeoutMs: number;
  /** Whether verify_credentials asks for the email (`include_email=true`); asks unless `off`. */
  readonly email?: EmailMode;
  /** The clock compared with Twitter's Date header; defaults to Date.now. */
  readonly now?: () => number;
  readonly onTwitterError?: (event: TwitterErrorEvent) => void;
  /** Called when the local clock and Twitter's differ by more than CLOCK_SKEW_LIMIT_SECONDS. */
  readonly onClockSkew?: (event: { endpoint: string; skewSeconds: number }) => void;
}

export interface TwitterErrorEvent {
  readonly endpoint: string;
  readonly status: number;
  /** Twitter's error code, when its answer carried one. */
  readonly code: number | undefined;
  /** Twitter's message, printable and short, with the token of the request blanked out. */
  readonly message: string | undefined;
}

export interface TokenPair {
  readonly token: string;
  readonly secret: string;
}

export interface TwitterClient {
  requestToken(callbackUrl: string): Promise<TokenPair>;
  authenticateUrl(requestToken: string): string;
  accessToken(request: TokenPair, verifier: string): Promise<TokenPair>;
  verifyCredentials(access: TokenPair): Promise<ProfileAnswer>;
  /** Revokes the user's access token at Twitter (POST 1.1/oauth/invalidate_token). */
  invalidateToken(access: TokenPair): Promise<void>;
  /** One unauthenticated request to compare clocks; the skew in seconds, or undefined when Twitter did not answer. */
  checkClock(): Promise<number | undefined>;
}

const MAX_ANSWER_BYTES = 64 * 1024;
/** Twitter refuses OAuth timestamps that are off by several minutes; warn well before that. */
export const CLOCK_SKEW_LIMIT_SECONDS = 60;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly skewSeconds: number | undefined;
}

export function createTwitterClient(options: TwitterClientOptions): TwitterClient {
  const oauth = new OAuth({
    consumer: { key: options.consumerKey, secret: options.consumerSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const url = (path: string) => `${options.apiUrl}${path}`;
  const now = options.now ?? Date.now;
  // X answers the email only to apps allowed to read it, and only when asked.
  const verifyCredentialsQuery = `${options.email === 'off' ? '' : 'include_email=true&'}skip_status=true&include_entities=false`;
  let skewReported = false;

  // oauth-1.0a's authorize() signs the extra oauth_* parameters but leaves
  // them out of its result, so they are spread back into the header.
  const authorization = (method: string, target: string, extra: Record<string, string>, token?: TokenPair) => {
    const signed = oauth.authorize({ url: target, method, data: extra }, token && { key: token.token, secret: token.secret });
    return oauth.toHeader({ ...signed, ...extra }).Authorization;
  };

  /** Warns once when the clocks drift apart, again after they agreed in between, and on every 135. */
  const watchClock = (endpoint: string, skewSeconds: number | undefined, refusedTimestamp: boolean) => {
    if (skewSeconds === undefined) return;
    const off = Math.abs(skewSeconds) > CLOCK_SKEW_LIMIT_SECONDS;
    if (off && (!skewReported || refusedTimestamp)) options.onClockSkew?.({ endpoint, skewSeconds });
    skewReported = off;
  };

  const outbound = createOutboundHttp({ timeoutMs: options.timeoutMs, maxBodyBytes: MAX_ANSWER_BYTES });
  const send = async (endpoint: string, method: string, target: string, headers: Record<string, string>): Promise<Answer> => {
    let answer;
    try {
      answer = await outbound.request(method, target, { ...headers, accept: 'application/json, text/plain, */*' });
    } catch (error) {
      const kind = error instanceof OutboundError ? error.kind : 'unreachable';
      if (kind === 'too_large') throw new AppError('twitter_bad_response', `Twitter's answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      if (kind === 'timeout') {
        throw new AppError('twitter_timeout', `Twitter did not answer ${endpoint} within ${options.timeoutMs} ms`, { cause: error });
      }
      throw new AppError('twitter_unavailable', `Twitter could not be reached for ${endpoint}`, { cause: error });
    }
    return { status: answer.status, body: answer.body, skewSeconds: clockSkewSeconds(answer.date, now()) };
  };

  const failure = (endpoint: string, answer: Answer, token: string | undefined, callbackUrl?: string) => {
    const error = parseTwitterError(answer.body);
    report(endpoint, answer, error, token);
    watchClock(endpoint, answer.skewSeconds, error.code === 135);
    const described = describeTwitterFailure({ endpoint, status: answer.status, error, callbackUrl, clockSkewSeconds: answer.skewSeconds });
    return new AppError(described.code, described.detail, twitterErrorMember(error));
  };

  const report = (endpoint: string, answer: Answer, error: TwitterErrorBody, token: string | undefined) => {
    const message = loggableMessage(error.message, token);
    options.onTwitterError?.({ endpoint, status: answer.status, code: error.code, message });
  };

  const badAnswer = (endpoint: string, reason: string) =>
    new AppError('twitter_bad_response', `Twitter's answer to ${endpoint} was unusable: ${reason}`);

  return {
    async requestToken(callbackUrl) {
      const endpoint = 'oauth/request_token';
      const target = url('/oauth/request_token');
      const answer = await send(endpoint, 'POST', target, { authorization: authorization('POST', target, { oauth_callback: callbackUrl }) });
      if (answer.status !== 200) throw failure(endpoint, answer, undefined, callbackUrl);
      watchClock(endpoint, answer.skewSeconds, false);
      const parsed = parseFormAnswer(answer.body, ['oauth_token', 'oauth_token_secret', 'oauth_callback_confirmed']);
      if (!parsed.ok) throw badAnswer(endpoint, parsed.reason);
      // RFC 5849 §2.1: without the confirmation the provider ignored our callback.
      if (parsed.value.oauth_callback_confirmed !== 'true') throw badAnswer(endpoint, 'oauth_callback_confirmed is not true');
      return { token: parsed.value.oauth_token, secret: parsed.value.oauth_token_secret };
    },

    authenticateUrl(requestToken) {
      return `${url('/oauth/authenticate')}?${new URLSearchParams({ oauth_token: requestToken })}`;
    },

    async accessToken(request, verifier) {
      const endpoint = 'oauth/access_token';
      const target = url('/oauth/access_token');
      const answer = await send(endpoint, 'POST', target, { authorization: authorization('POST', target, { oauth_verifier: verifier }, request) });
      if (answer.status !== 200) {
        const error = parseTwitterError(answer.body);
        // A stale or forged verifier or request token (401, or Twitter's 89
        // "invalid or expired token") is the user's problem, not an outage.
        if (answer.status === 401 && (error.code === undefined || error.code === 89)) {
          report(endpoint, answer, error, request.token);
          throw new AppError('twitter_rejected_verifier', 'Twitter did not accept this sign-in; start again', twitterErrorMember(error));
        }
        throw failure(endpoint, answer, request.token);
      }
      watchClock(endpoint, answer.skewSeconds, false);
      const parsed = parseFormAnswer(answer.body, ['oauth_token', 'oauth_token_secret']);
      if (!parsed.ok) throw badAnswer(endpoint, parsed.reason);
      return { token: parsed.value.oauth_token, secret: parsed.value.oauth_token_secret };
    },

    async verifyCredentials(access) {
      const endpoint = '1.1/account/verify_credentials.json';
      const target = url(`/1.1/account/verify_credentials.json?${verifyCredentialsQuery}`);
      const answer = await send(endpoint, 'GET', target, { authorization: authorization('GET', target, {}, access) });
      if (answer.status !== 200) throw failure(endpoint, answer, access.token);
      watchClock(endpoint, answer.skewSeconds, false);
      const parsed = parseProfile(answer.body);
      if (!parsed.ok) throw badAnswer(endpoint, parsed.reason);
      return parsed.value;
    },

    async invalidateToken(access) {
      const endpoint = '1.1/oauth/invalidate_token';
      const target = url('/1.1/oauth/invalidate_token');
      // Signed with the user's own access token, like verify_credentials.
      const answer = await send(endpoint, 'POST', target, { authorization: authorization('POST', target, {}, access) });
      if (answer.status !== 200) throw failure(endpoint, answer, access.token);
      watchClock(endpoint, answer.skewSeconds, false);
    },

    async checkClock() {
      let answer: Answer;
      try {
        // No credentials: any answer carries a Date header, even a 404.
        answer = await send('clock check', 'HEAD', url('/'), {});
      } catch {
        return undefined;
      }
      watchClock('clock check', answer.skewSeconds, false);
      return answer.skewSeconds;
    },
  };
}

function twitterErrorMember(error: TwitterErrorBody): { members?: Record<string, number> } {
  return error.code === undefined ? {} : { members: { twitter_error: error.code } };
}
