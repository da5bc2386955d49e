// A scriptable stand-in for a failing Twitter: each endpoint's behaviour is
// set by the test. It checks no signatures; the sandbox provider does that.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour = (request: IncomingMessage, response: ServerResponse) => void;

export const ENDPOINTS = {
  request_token: '/oauth/request_token',
  access_token: '/oauth/access_token',
  verify_credentials: '/1.1/account/verify_credentials.json',
  invalidate_token: '/1.1/oauth/invalidate_token',
} as const;
export type Endpoint = keyof typeof ENDPOINTS;

export const answer =
  (status: number, body: string, contentType = 'text/html; charset=utf-8'): Behaviour =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': contentType }).end(body);
  };
/** Twitter's JSON error body with one code. */
export const twitterError = (status: number, code: number, message: string): Behaviour =>
  answer(status, JSON.stringify({ errors: [{ code, message }] }), 'application/json; charset=utf-8');
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

export const WORKING: Record<Endpoint, Behaviour> = {
  request_token: answer(200, 'oauth_token=req-token&oauth_token_secret=req-secret&oauth_callback_confirmed=true'),
  access_token: answer(200, 'oauth_token=acc-token&oauth_token_secret=acc-secret&user_id=42&screen_name=fake'),
  verify_credentials: answer(200, JSON.stringify({ id: 42, id_str: '42', screen_name: 'fake', name: 'Fake' }), 'application/json'),
  invalidate_token: answer(200, JSON.stringify({ access_token: 'acc-token' }), 'application/json'),
};

export interface FakeTwitter {
  readonly url: string;
  readonly behaviours: Record<Endpoint, Behaviour>;
  /** Requests seen per endpoint. */
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
  const calls: Record<Endpoint, number> = { request_token: 0, access_token: 0, verify_credentials: 0, invalidate_token: 0 };
  const sockets = new Set<Socket>();
  const state = { clockOffsetMs: 0 };
  const server = createServer((request, response) => {
    response.setHeader('date', new Date(Date.now() + state.clockOffsetMs).toUTCString());
    if (options.closeConnections) response.setHeader('connection', 'close');
    const path = (request.url ?? '').split('?')[0];
    const endpoint = (Object.keys(ENDPOINTS) as Endpoint[]).find((name) => ENDPOINTS[name] === path);
    if (!endpoint) return void response.writeHead(404).end();
    calls[endpoint] += 1;
    request.resume();
    behaviours[endpoint](request, response);
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
