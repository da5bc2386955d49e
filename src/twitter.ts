// The Twitter OAuth 1.0a client (RFC 5849, "Sign in with Twitter"). The only
// module that speaks to Twitter, and the only importer of oauth-1.0a.
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { AppError } from './errors.js';
import { parseFormAnswer, parseProfile, parseTwitterError, type ProfileAnswer, type TwitterErrorBody } from './twitter-responses.js';

export interface TwitterClientOptions {
  readonly apiUrl: string;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly timeoutMs: number;
  readonly onTwitterError?: (event: { endpoint: string; status: number; code: number | undefined }) => void;
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
}

const MAX_ANSWER_BYTES = 64 * 1024;

// Codes that mean roost itself is misconfigured, not that the user did something wrong.
const OPERATOR_CODES: Record<number, string> = {
  32: 'Twitter could not authenticate roost: check TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET',
  135: "Twitter refused the request timestamp: this server's clock is off",
  215: 'Twitter reported bad authentication data',
  415: 'Twitter refused the callback URL: register it in the Twitter app settings',
  416: 'Twitter reports the application as invalid or suspended',
};

export function createTwitterClient(options: TwitterClientOptions): TwitterClient {
  const oauth = new OAuth({
    consumer: { key: options.consumerKey, secret: options.consumerSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const url = (path: string) => `${options.apiUrl}${path}`;

  // oauth-1.0a's authorize() signs the extra oauth_* parameters but leaves
  // them out of its result, so they are spread back into the header.
  const authorization = (method: string, target: string, extra: Record<string, string>, token?: TokenPair) => {
    const signed = oauth.authorize({ url: target, method, data: extra }, token && { key: token.token, secret: token.secret });
    return oauth.toHeader({ ...signed, ...extra }).Authorization;
  };

  const send = async (endpoint: string, method: string, target: string, header: string) => {
    let response: Response;
    let body: string;
    try {
      response = await fetch(target, {
        method,
        headers: { authorization: header, accept: 'application/json, text/plain, */*' },
        signal: AbortSignal.timeout(options.timeoutMs),
        redirect: 'error',
      });
      body = await readBounded(response);
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new AppError('twitter_timeout', `Twitter did not answer ${endpoint} within ${options.timeoutMs} ms`, { cause: error });
      }
      throw new AppError('twitter_unavailable', `Twitter could not be reached for ${endpoint}`, { cause: error });
    }
    return { status: response.status, body };
  };

  const failure = (endpoint: string, status: number, error: TwitterErrorBody, detail?: string) => {
    options.onTwitterError?.({ endpoint, status, code: error.code });
    const known = error.code !== undefined ? OPERATOR_CODES[error.code] : undefined;
    return new AppError(
      'twitter_unavailable',
      detail ?? `${known ?? `Twitter answered ${endpoint} with HTTP ${status}`}${error.code !== undefined ? ` (Twitter error ${error.code})` : ''}`,
    );
  };

  const badAnswer = (endpoint: string, reason: string) =>
    new AppError('twitter_bad_response', `Twitter's answer to ${endpoint} was unusable: ${reason}`);

  return {
    async requestToken(callbackUrl) {
      const endpoint = 'oauth/request_token';
      const target = url('/oauth/request_token');
      const answer = await send(endpoint, 'POST', target, authorization('POST', target, { oauth_callback: callbackUrl }));
      if (answer.status !== 200) {
        const error = parseTwitterError(answer.body);
        throw failure(endpoint, answer.status, error, error.code === 415 ? `${OPERATOR_CODES[415]}: ${callbackUrl} (Twitter error 415)` : undefined);
      }
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
      const answer = await send(endpoint, 'POST', target, authorization('POST', target, { oauth_verifier: verifier }, request));
      if (answer.status !== 200) {
        const error = parseTwitterError(answer.body);
        // A stale or forged verifier or request token is the user's problem, not an outage.
        if (answer.status === 401 && (error.code === undefined || !(error.code in OPERATOR_CODES))) {
          options.onTwitterError?.({ endpoint, status: answer.status, code: error.code });
          throw new AppError('twitter_rejected_verifier', 'Twitter did not accept this sign-in; start again');
        }
        throw failure(endpoint, answer.status, error);
      }
      const parsed = parseFormAnswer(answer.body, ['oauth_token', 'oauth_token_secret']);
      if (!parsed.ok) throw badAnswer(endpoint, parsed.reason);
      return { token: parsed.value.oauth_token, secret: parsed.value.oauth_token_secret };
    },

    async verifyCredentials(access) {
      const endpoint = '1.1/account/verify_credentials.json';
      const target = url('/1.1/account/verify_credentials.json?include_email=true&skip_status=true&include_entities=false');
      const answer = await send(endpoint, 'GET', target, authorization('GET', target, {}, access));
      if (answer.status !== 200) throw failure(endpoint, answer.status, parseTwitterError(answer.body));
      const parsed = parseProfile(answer.body);
      if (!parsed.ok) throw badAnswer(endpoint, parsed.reason);
      return parsed.value;
    },

    async invalidateToken(access) {
      const endpoint = '1.1/oauth/invalidate_token';
      const target = url('/1.1/oauth/invalidate_token');
      // Signed with the user's own access token, like verify_credentials.
      const answer = await send(endpoint, 'POST', target, authorization('POST', target, {}, access));
      if (answer.status !== 200) throw failure(endpoint, answer.status, parseTwitterError(answer.body));
    },
  };
}

async function readBounded(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new AppError('twitter_bad_response', `Twitter's answer is larger than ${MAX_ANSWER_BYTES} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > MAX_ANSWER_BYTES) {
        throw new AppError('twitter_bad_response', `Twitter's answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
