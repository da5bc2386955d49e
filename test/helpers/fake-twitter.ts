// A scriptable stand-in for a failing X, in both protocols: each endpoint's
// behaviour is set by the test. It checks no signatures, codes or
// verifiers; the sandbox provider does that.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** `body` is the request body, read whole before the behaviour runs. */
export type Behaviour = (request: IncomingMessage, response: ServerResponse, body?: string) => void;

export const ENDPOINTS = {
  // OAuth 1.0a
  request_token: '/oauth/request_token',
  access_token: '/oauth/access_token',
  verify_credentials: '/1.1/account/verify_credentials.json',
  invalidate_token: '/1.1/oauth/invalidate_token',
  // OAuth 2.0 (the browser's authorize page is never called by roost, so it is not here)
  oauth2_token: '/2/oauth2/token',
  users_me: '/2/users/me',
  oauth2_revoke: '/2/oauth2/revoke',
} as const;
export type Endpoint = keyof typeof ENDPOINTS;

const JSON_TYPE = 'application/json; charset=utf-8';

export const answer =
  (status: number, body: string, contentType = 'text/html; charset=utf-8', headers: Record<string, string> = {}): Behaviour =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': contentType, ...headers }).end(body);
  };
/** X's 1.1 JSON error body with one code. */
export const twitterError = (status: number, code: number, message: string): Behaviour =>
  answer(status, JSON.stringify({ errors: [{ code, message }] }), JSON_TYPE);
/** An RFC 6749 §5.2 error, as X's token and revocation endpoints answer. */
export const oauth2Error = (status: number, error: string, description?: string): Behaviour =>
  answer(status, JSON.stringify({ error, ...(description === undefined ? {} : { error_description: description }) }), JSON_TYPE);
/** An X API v2 problem, as /2/users/me answers. */
export const apiProblem = (status: number, title: string, detail = title, type = 'about:blank'): Behaviour =>
  answer(status, JSON.stringify({ title, detail, type, status }), 'application/problem+json; charset=utf-8');
/** X's 429: its limit resets `inSeconds` from now, said in x-rate-limit-reset (epoch seconds). */
export const rateLimited =
  (inSeconds: number): Behaviour =>
  (request, response) =>
    answer(429, JSON.stringify({ title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 }), JSON_TYPE, {
      'x-rate-limit-limit': '300',
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + inSeconds),
    })(request, response);
/** A 200 whose body is no format at all. */
export const garbage: Behaviour = answer(200, '\u0000\u0001garbage{', JSON_TYPE);
/**
 * An error answer that repeats what the request carried (its URL,
 * Authorization header and body, so every token, code, verifier and
 * secret sent), as a careless server might: `shape` puts those words into
 * the body, e.g. `(said) => ({ error: 'invalid_request', error_description: said })`.
 */
export const echo =
  (status: number, shape: (said: string) => unknown): Behaviour =>
  (request, response, body = '') => {
    const said = `${request.method} ${request.url} with ${request.headers.authorization ?? 'no authorization'} and ${body}`;
    answer(status, JSON.stringify(shape(said)), JSON_TYPE)(request, response);
  };
/** Never answers: the caller's timeout must fire. */
export const hang: Behaviour = () => {};
/** Drops the connection without a word. */
export const reset: Behaviour = (request) => request.socket.destroy();
/** Sends the status line and headers, then nothing more: the body read must time out. */
export const stallAfterHeaders: Behaviour = (_request, response) => {
  response.writeHead(200, { 'content-type': 'text/html', 'content-length': '100' });
  response.write('oauth_token=');
};
/** Promises a body, sends part of it, then drops the connection. */
export const cutShort: Behaviour = (request, response) => {
  response.writeHead(200, { 'content-type': 'text/html', 'content-length': '200' });
  response.write('oauth_token=abc&oauth_tok', () => request.socket.destroy());
};

/** The OAuth 2.0 access token the working token endpoint hands out. */
export const OAUTH2_ACCESS_TOKEN = 'fake-oauth2-access-token';

export const WORKING: Record<Endpoint, Behaviour> = {
  request_token: answer(200, 'oauth_token=req-token&oauth_token_secret=req-secret&oauth_callback_confirmed=true'),
  access_token: answer(200, 'oauth_token=acc-token&oauth_token_secret=acc-secret&user_id=42&screen_name=fake'),
  verify_credentials: answer(200, JSON.stringify({ id: 42, id_str: '42', screen_name: 'fake', name: 'Fake' }), 'application/json'),
  invalidate_token: answer(200, JSON.stringify({ access_token: 'acc-token' }), 'application/json'),
  oauth2_token: answer(200, JSON.stringify({ token_type: 'bearer', expires_in: 7200, access_token: OAUTH2_ACCESS_TOKEN, scope: 'tweet.read users.read users.email' }), JSON_TYPE),
  users_me: answer(200, JSON.stringify({ data: { id: '42', username: 'fake', name: 'Fake' } }), JSON_TYPE),
  // RFC 7009 §2.2: 200 whether or not the token was still valid.
  oauth2_revoke: answer(200, JSON.stringify({ revoked: true }), JSON_TYPE),
};

export interface FakeTwitter {
  readonly url: string;
  readonly behaviours: Record<Endpoint, Behaviour>;
  /** Requests seen per endpoint, counted as they arrive. */
  readonly calls: Record<Endpoint, number>;
  /** Added to the Date header of every answer, to play a Twitter whose clock differs from ours. */
  clockOffsetMs: number;
  close(): Promise<void>;
}

export interface FakeTwitterOptions {
  /** Answer every request with `Connection: close`, so each call opens a new connection. */
  readonly closeConnections?: boolean;
}

export async function startFakeTwitter(options: FakeTwitterOptions = {}): Promise<FakeTwitter> {
  const behaviours = { ...WORKING };
  const calls = Object.fromEntries(Object.keys(ENDPOINTS).map((name) => [name, 0])) as Record<Endpoint, number>;
  const sockets = new Set<Socket>();
  const state = { clockOffsetMs: 0 };
  const server = createServer((request, response) => {
    response.setHeader('date', new Date(Date.now() + state.clockOffsetMs).toUTCString());
    if (options.closeConnections) response.setHeader('connection', 'close');
    const path = (request.url ?? '').split('?')[0];
    const endpoint = (Object.keys(ENDPOINTS) as Endpoint[]).find((name) => ENDPOINTS[name] === path);
    if (!endpoint) return void response.writeHead(404).end();
    calls[endpoint] += 1;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => behaviours[endpoint](request, response, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    behaviours,
    calls,
    get clockOffsetMs() {
      return state.clockOffsetMs;
    },
    set clockOffsetMs(value: number) {
      state.clockOffsetMs = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
