// The Twitter client's transport against a real local server: answers as
// they are (redirects included), keep-alive reuse, and each way a call can
// fail mapped to one kind.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import t from 'tap';
import { createOutboundHttp, OutboundError } from '../../../src/twitter/outbound-http.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
let handler: Handler = (_request, response) => response.end('ok');
let connections = 0;
const sockets = new Set<Socket>();
const server = createServer((request, response) => handler(request, response));
server.on('connection', (socket) => {
  connections += 1;
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
t.teardown(
  () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
);

const client = createOutboundHttp({ timeoutMs: 300, maxBodyBytes: 1000 });
t.teardown(() => client.close());

const failureOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error instanceof OutboundError ? error.kind : `not an OutboundError: ${String(error)}`;
  }
  return 'no failure';
};

t.test('answers with the status and the body, and sends the method and headers', async (t) => {
  let seen: { method?: string; authorization?: string; url?: string } = {};
  handler = (request, response) => {
    seen = { method: request.method, authorization: request.headers.authorization, url: request.url };
    response.writeHead(201, { 'content-type': 'text/plain' }).end('héllo');
  };
  const answer = await client.request('POST', `${base}/oauth/request_token?x=1`, { authorization: 'OAuth a="b"' });
  t.match(answer, { status: 201, body: 'héllo', date: /GMT$/ });
  t.same(seen, { method: 'POST', authorization: 'OAuth a="b"', url: '/oauth/request_token?x=1' });
});

t.test('an answer without a Date header says so', async (t) => {
  handler = (_request, response) => {
    response.sendDate = false;
    response.end('no date');
  };
  const answer = await client.request('GET', `${base}/`, {});
  t.same({ status: answer.status, body: answer.body, date: answer.date }, { status: 200, body: 'no date', date: null });
  t.notOk('date' in answer.headers);
});

t.test('a body is sent with its length, and the answer carries every header', async (t) => {
  let seen: { length?: string; type?: string; chunked?: string; body?: string } = {};
  handler = (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen = {
        length: request.headers['content-length'],
        type: request.headers['content-type'],
        chunked: request.headers['transfer-encoding'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      response.writeHead(429, { 'x-rate-limit-reset': '1700000000', 'x-rate-limit-remaining': '0' }).end('{}');
    });
  };
  const form = 'grant_type=authorization_code&code=caf%C3%A9&name=é';
  const answer = await client.request('POST', `${base}/2/oauth2/token`, { 'content-type': 'application/x-www-form-urlencoded' }, form);
  t.same(seen, { length: String(Buffer.byteLength(form)), type: 'application/x-www-form-urlencoded', chunked: undefined, body: form }, 'sent whole, with its byte length');
  t.equal(answer.status, 429);
  t.equal(answer.headers['x-rate-limit-reset'], '1700000000');
  t.equal(answer.headers['x-rate-limit-remaining'], '0');
});

t.test('a call without a body sends no body headers', async (t) => {
  let seen: { length?: string; chunked?: string } = { length: 'unset' };
  handler = (request, response) => {
    seen = { length: request.headers['content-length'], chunked: request.headers['transfer-encoding'] };
    response.end('ok');
  };
  await client.request('GET', `${base}/`, {});
  t.same(seen, { length: undefined, chunked: undefined });
});

t.test('a redirect is an answer, never followed', async (t) => {
  let calls = 0;
  handler = (_request, response) => {
    calls += 1;
    response.writeHead(302, { location: `${base}/elsewhere` }).end();
  };
  const answer = await client.request('GET', `${base}/start`, {});
  t.equal(answer.status, 302);
  t.equal(calls, 1);
});

t.test('sequential calls reuse one keep-alive connection', async (t) => {
  handler = (_request, response) => response.end('ok');
  const before = connections;
  for (let i = 0; i < 3; i++) t.equal((await client.request('GET', `${base}/`, {})).body, 'ok');
  t.ok(connections - before <= 1, `opened ${connections - before} connection(s) for 3 calls`);
});

t.test('a declared body over the limit fails as too_large', async (t) => {
  handler = (_request, response) => response.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000));
  t.equal(await failureOf(client.request('GET', `${base}/`, {})), 'too_large');
});

t.test('a streamed body over the limit fails as too_large', async (t) => {
  handler = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('x'.repeat(800));
    setTimeout(() => response.end('x'.repeat(800)), 10);
  };
  t.equal(await failureOf(client.request('GET', `${base}/`, {})), 'too_large');
});

t.test('a body of exactly the limit is read', async (t) => {
  handler = (_request, response) => response.end('y'.repeat(1000));
  t.equal((await client.request('GET', `${base}/`, {})).body.length, 1000);
});

t.test('no answer within the deadline fails as timeout', async (t) => {
  handler = () => {};
  const started = performance.now();
  t.equal(await failureOf(client.request('GET', `${base}/`, {})), 'timeout');
  const ms = performance.now() - started;
  t.ok(ms >= 250 && ms < 5000, `gave up after ${Math.round(ms)} ms`);
});

t.test('headers in time but a body that never ends also times out', async (t) => {
  handler = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('partial');
  };
  t.equal(await failureOf(client.request('GET', `${base}/`, {})), 'timeout');
});

t.test('a reset connection fails as unreachable', async (t) => {
  handler = (request) => request.socket.destroy();
  t.equal(await failureOf(client.request('GET', `${base}/`, {})), 'unreachable');
});

t.test('a connection closed in the middle of the body fails as unreachable', async (t) => {
  handler = (request, response) => {
    response.writeHead(200, { 'content-length': 100 });
    response.write('only part');
    setTimeout(() => request.socket.destroy(), 10);
  };
  t.equal(await failureOf(client.request('GET', `${base}/`, {})), 'unreachable');
});

t.test('nothing listening fails as unreachable', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  t.equal(await failureOf(client.request('GET', `http://127.0.0.1:${port}/`, {})), 'unreachable');
});

t.test('works again after failures', async (t) => {
  handler = (_request, response) => response.end('fine');
  t.equal((await client.request('GET', `${base}/`, {})).body, 'fine');
});
