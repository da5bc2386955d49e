// A lean Twitter stand-in for load: bare node:http, the same strict OAuth
// 1.0a checks as the sandbox (signature, timestamp window, nonce, token), no
// consent page. GET oauth/authenticate approves at once, as Twitter does for
// a user who already authorised the app. Every OAuth answer waits
// `latencyMs` first, to model the round trip to the real Twitter.
//
// It also records how long it spent on each sign-in (keyed by request
// token), so the driver can subtract the provider's share from a flow.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { percentEncode } from '../src/sandbox/oauth1-signature.js';
import { FAILURES, verifySignedRequest, type TwitterFailure } from '../src/sandbox/signed-request.js';
import { createSandboxStore } from '../src/sandbox/store.js';

export interface LoadProviderOptions {
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly latencyMs: number;
  /** Sign-ins cycle through this many distinct users (upserts of new and returning users). */
  readonly users: number;
}

/** Milliseconds the provider spent on one sign-in's server-to-server calls. */
export interface ProviderTimes {
  requestToken: number;
  accessToken: number;
  verifyCredentials: number;
}

export const TIMES_PATH = '/_bench/times';
/** PUT a number of milliseconds here to change the added latency. */
export const LATENCY_PATH = '/_bench/latency';
export const FIRST_USER_ID = 1240000000000000000n;
const MAX_ENTRIES = 200_000;
const BODY_LIMIT = 16 * 1024;

interface RequestToken {
  readonly secret: string;
  readonly callback: string;
  verifier: string | undefined;
  userId: string | undefined;
}

interface AccessToken {
  readonly secret: string;
  readonly userId: string;
  readonly flow: string;
}

export function createLoadProvider(options: LoadProviderOptions): Server {
  const nonces = createSandboxStore(Date.now);
  const context = { consumerKey: options.consumerKey, consumerSecret: options.consumerSecret, now: Date.now, store: nonces };
  const requestTokens = new Map<string, RequestToken>();
  const accessTokens = new Map<string, AccessToken>();
  let times = new Map<string, ProviderTimes>();
  let nextUser = 0;
  let latencyMs = options.latencyMs;

  const timesOf = (flow: string) => {
    let entry = times.get(flow);
    if (entry === undefined) {
      entry = { requestToken: 0, accessToken: 0, verifyCredentials: 0 };
      times.set(flow, entry);
      capOldest(times);
    }
    return entry;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse, started: number): Promise<void> => {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = queryStart === -1 ? '' : url.slice(queryStart + 1);
    const base = `http://${request.headers.host ?? ''}`;
    const body = await readBody(request);
    const formBody = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ? body : undefined;
    const input = { method: request.method ?? 'GET', url: `${base}${path}`, authorization: request.headers.authorization, query, formBody };
    const answer = (status: number, type: string, text: string, record?: (ms: number) => void) =>
      later(latencyMs, () => {
        record?.(performance.now() - started);
        response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text);
      });
    const fail = (failure: TwitterFailure) =>
      answer(failure.status, 'application/json', JSON.stringify({ errors: [{ code: failure.code, message: failure.message }] }));

    if (request.method === 'POST' && path === '/oauth/request_token') {
      const verified = verifySignedRequest(context, input, 'no-token');
      if (!verified.ok) return fail(verified);
      const callback = verified.oauth.oauth_callback;
      if (callback === undefined || !/^https?:\/\//.test(callback)) return fail(FAILURES.badAuthenticationData);
      const token = randomToken();
      const secret = randomToken();
      requestTokens.set(token, { secret, callback, verifier: undefined, userId: undefined });
      capOldest(requestTokens);
      return answer(200, 'text/html; charset=utf-8', form({ oauth_token: token, oauth_token_secret: secret, oauth_callback_confirmed: 'true' }), (ms) => {
        timesOf(token).requestToken = ms;
      });
    }

    if (request.method === 'GET' && path === '/oauth/authenticate') {
      const token = new URLSearchParams(query).get('oauth_token') ?? '';
      const entry = requestTokens.get(token);
      if (entry === undefined || entry.verifier !== undefined) return answer(400, 'text/plain', 'unknown or used request token');
      entry.userId = String(FIRST_USER_ID + BigInt(nextUser++ % options.users));
      entry.verifier = randomToken();
      const separator = entry.callback.includes('?') ? '&' : '?';
      const location = `${entry.callback}${separator}${form({ oauth_token: token, oauth_verifier: entry.verifier })}`;
      return later(latencyMs, () => response.writeHead(302, { location, 'content-length': 0 }).end());
    }

    if (request.method === 'POST' && path === '/oauth/access_token') {
      const verified = verifySignedRequest(context, input, (token) => requestTokens.get(token));
      if (!verified.ok) return fail(verified);
      const flow = verified.oauth.oauth_token as string;
      // A request token is exchanged once, right or wrong (RFC 5849 §2.3).
      requestTokens.delete(flow);
      const { verifier, userId } = verified.token;
      if (verifier === undefined || userId === undefined || verified.oauth.oauth_verifier !== verifier) {
        return answer(401, 'text/plain', 'Error processing your OAuth request: Invalid oauth_verifier parameter');
      }
      const token = `${userId}-${randomToken()}`;
      const secret = randomToken();
      accessTokens.set(token, { secret, userId, flow });
      capOldest(accessTokens);
      return answer(200, 'text/html; charset=utf-8', form({ oauth_token: token, oauth_token_secret: secret, user_id: userId, screen_name: screenName(userId) }), (ms) => {
        timesOf(flow).accessToken = ms;
      });
    }

    if (request.method === 'GET' && path === '/1.1/account/verify_credentials.json') {
      const verified = verifySignedRequest(context, input, (token) => accessTokens.get(token));
      if (!verified.ok) return fail(verified);
      // roost reads the profile once per sign-in; forgetting the token keeps memory flat.
      accessTokens.delete(verified.oauth.oauth_token as string);
      const { userId, flow } = verified.token;
      const n = String(BigInt(userId) - FIRST_USER_ID);
      const profile = {
        id: Number(userId),
        id_str: userId,
        name: `Bench User ${n}`,
        screen_name: screenName(userId),
        profile_image_url_https: `https://pbs.twimg.com/profile_images/${userId}/bench_normal.png`,
        ...(new URLSearchParams(query).get('include_email') === 'true' ? { email: `bench${n}@example.com` } : {}),
      };
      return answer(200, 'application/json; charset=utf-8', JSON.stringify(profile), (ms) => {
        timesOf(flow).verifyCredentials = ms;
      });
    }

    if (request.method === 'PUT' && path === LATENCY_PATH) {
      latencyMs = Number(body);
      return void response.writeHead(204).end();
    }

    if (request.method === 'GET' && path === TIMES_PATH) {
      const taken = Object.fromEntries(times);
      times = new Map();
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(taken));
    }

    return void response.writeHead(404).end();
  };

  return createServer({ keepAliveTimeout: 30_000 }, (request, response) => {
    const started = performance.now();
    handle(request, response, started).catch(() => {
      if (!response.headersSent) response.writeHead(400).end();
    });
  });
}

function screenName(userId: string): string {
  return `bench_${BigInt(userId) - FIRST_USER_ID}`;
}

function form(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

function later(ms: number, work: () => void): void {
  if (ms > 0) setTimeout(work, ms);
  else work();
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > BODY_LIMIT) reject(new Error('body too large'));
    });
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

// Maps iterate in insertion order: the first key is the oldest.
function capOldest(map: Map<string, unknown>): void {
  while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
}

function randomToken(): string {
  return randomBytes(24).toString('base64url');
}
