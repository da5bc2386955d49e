// The open loops' HTTP client must read what a server sends as node:http
// would (status, Retry-After, a body by length or chunked, a connection the
// server closes), keep its connections alive and its promise of at most N
// at once, and give up at each request's deadline: never sending one still
// queued then, and closing the connection of one in flight.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import t from 'tap';
import { createHttpPool, parseResponse } from '../../bench/http-pool.js';

t.test('a response is read whole, and not before', async (t) => {
  const whole = Buffer.from('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 5\r\n\r\nbusy!');
  t.same(parseResponse(whole), { answer: { status: 503, retryAfter: '2', body: 'busy!' }, close: false, length: whole.length });
  for (let cut = 0; cut < whole.length; cut++) t.equal(parseResponse(whole.subarray(0, cut)), undefined, `incomplete at ${cut}`);

  const chunked = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nroos\r\n1;ext=1\r\nt\r\n0\r\n\r\n');
  t.same(parseResponse(chunked), { answer: { status: 200, retryAfter: undefined, body: 'roost' }, close: true, length: chunked.length });
  for (let cut = 0; cut < chunked.length; cut++) t.equal(parseResponse(chunked.subarray(0, cut)), undefined, `incomplete chunked at ${cut}`);

  t.same(parseResponse(Buffer.from('HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n')), { answer: { status: 204, retryAfter: undefined, body: '' }, close: false, length: 36 });
  t.equal(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\u00e9')), undefined, 'a length counts bytes, not characters: é is two of three');
  t.match(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\u00e9a')), { answer: { body: 'éa' } });
  for (const bad of ['HTTP/2 200\r\n\r\n', 'hello\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HTTP/1.1 200 OK\r\nno colon\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\nbody until close']) {
    t.equal(parseResponse(Buffer.from(bad)), 'malformed', JSON.stringify(bad));
  }
  t.equal(parseResponse(Buffer.alloc(70 * 1024, 'a')), 'malformed', 'headers without an end');
});

t.test('against a real server', async (t) => {
  const sockets = new Set<Socket>();
  let connections = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const handle = (request: IncomingMessage, response: ServerResponse, body: string) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/echo') return void response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);
    if (url.pathname === '/shed') return void response.writeHead(503, { 'retry-after': '1', 'content-length': 0 }).end();
    if (url.pathname === '/chunked') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"a":');
      return void setTimeout(() => response.end('"é"}'), 5);
    }
    if (url.pathname === '/close') return void response.writeHead(200, { connection: 'close', 'content-length': 3 }).end('bye');
    if (url.pathname === '/slow') return void setTimeout(() => response.writeHead(200, { 'content-length': 4 }).end('slow'), Number(url.searchParams.get('ms')));
    response.writeHead(404, { 'content-length': 0 }).end();
  };
  const server = createServer((request, response) => {
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    response.on('finish', () => (inFlight -= 1));
    response.on('close', () => {
      if (!response.writableFinished) inFlight -= 1;
    });
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handle(request, response, body));
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const soon = () => performance.now() + 2000;

  t.test('bodies, statuses and Retry-After, over connections kept alive', async (t) => {
    const http = createHttpPool(origin, 2);
    t.teardown(() => http.close());
    connections = 0;
    t.same(await http.request({ method: 'POST', path: '/echo', headers: { 'content-type': 'text/plain' }, body: 'grant_type=é' }, soon()), { status: 200, retryAfter: undefined, body: 'grant_type=é' });
    t.same(await http.request({ method: 'GET', path: '/shed' }, soon()), { status: 503, retryAfter: '1', body: '' });
    t.same(await http.request({ method: 'GET', path: '/chunked' }, soon()), { status: 200, retryAfter: undefined, body: '{"a":"é"}' });
    t.equal((await http.request({ method: 'GET', path: '/nothing' }, soon())).status, 404);
    t.equal(connections, 1, 'one after the other, one connection');
    t.equal((await http.request({ method: 'GET', path: '/close' }, soon())).body, 'bye');
    t.equal((await http.request({ method: 'GET', path: '/echo' }, soon())).status, 200, 'a connection the server closed is replaced');
    t.equal(connections, 2);
  });

  t.test('at most N at once; the rest wait their turn', async (t) => {
    const http = createHttpPool(origin, 3);
    t.teardown(() => http.close());
    mostInFlight = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, () => http.request({ method: 'GET', path: '/slow?ms=20' }, soon())));
    t.equal(answers.length, 12);
    t.ok(answers.every((a) => a.body === 'slow'));
    t.equal(mostInFlight, 3);
  });

  t.test('a request in flight at its deadline is a timeout and loses its connection; one queued then is never sent', async (t) => {
    const http = createHttpPool(origin, 1);
    t.teardown(() => http.close());
    connections = 0;
    const started = performance.now();
    const slow = http.request({ method: 'GET', path: '/slow?ms=500' }, performance.now() + 60);
    const queued = http.request({ method: 'POST', path: '/echo', body: 'never' }, performance.now() + 30);
    await t.rejects(queued, { code: 'timeout' });
    await t.rejects(slow, { code: 'timeout' });
    t.ok(performance.now() - started < 300, 'neither waited for the server');
    t.same(await http.request({ method: 'GET', path: '/echo' }, soon()), { status: 200, retryAfter: undefined, body: '' }, 'the queued one was not sent: the next request gets its own answer');
    t.equal(connections, 2, 'the timed-out connection was closed and a new one opened');
    await t.rejects(http.request({ method: 'GET', path: '/echo' }, performance.now() - 1), { code: 'timeout' }, 'a deadline already past sends nothing');
  });

  t.test('a server that goes away fails what is in flight; closing the pool fails what waits', async (t) => {
    const http = createHttpPool(origin, 1);
    const inFlightRequest = http.request({ method: 'GET', path: '/slow?ms=1000' }, soon());
    const waiting = http.request({ method: 'GET', path: '/echo' }, soon());
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const socket of sockets) socket.destroy();
    await t.rejects(inFlightRequest, { code: 'ECONNRESET' });
    t.equal((await waiting).status, 200, 'the next request goes out on a new connection');
    const late = http.request({ method: 'GET', path: '/slow?ms=1000' }, soon());
    const behind = http.request({ method: 'GET', path: '/echo' }, soon());
    http.close();
    await t.rejects(late, { code: 'closed' });
    await t.rejects(behind, { code: 'closed' });
    await t.rejects(http.request({ method: 'GET', path: '/echo' }, soon()), { code: 'closed' });
  });
});
