// The overload phase's driver: an open loop keeps to its schedule whatever
// the server does, counts 2xx as admitted and 429/503 as shed (noting which
// carried a valid Retry-After), times each request from its scheduled start
// and gives up on it at its deadline; the session pool lends each refresh
// token to one request at a time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createHttpPool } from '../../bench/http-pool.js';
import { createTally, dueBy, failureOf, isRetryAfter, runClosedLoop, runOpenLoop } from '../../bench/open-loop.js';
import { createSessionPool } from '../../bench/overload.js';

t.test('the tally sorts outcomes into admitted, shed and failed', async (t) => {
  const tally = createTally();
  tally.add({ status: 200, retryAfter: undefined }, 3);
  tally.add({ status: 204, retryAfter: undefined }, 5);
  tally.add({ status: 503, retryAfter: '1' }, 1);
  tally.add({ status: 503, retryAfter: undefined }, 1);
  tally.add({ status: 429, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' }, 1);
  tally.add({ status: 429, retryAfter: 'soon' }, 1);
  tally.add({ status: 500, retryAfter: '1' }, 1);
  tally.add({ status: 302, retryAfter: undefined }, 1);
  tally.add({ error: 'timeout' }, 5000);
  tally.add({ error: 'timeout' }, 5000);
  const run = tally.finish(100, 2000, [0, 1, 2]);
  t.equal(run.sent, 10);
  t.equal(run.admitted, 2);
  t.equal(run.admittedPerSec, 1);
  t.equal(run.latencyMs.max, 5, 'only what was admitted counts in the latency');
  t.same(run.shed, { '503': 2, '429': 2 });
  t.equal(run.shedWithRetryAfter, 2, 'delay-seconds and an HTTP-date count; none and garbage do not');
  t.same(run.failed, { 'HTTP 500': 1, 'HTTP 302': 1, timeout: 2 });
  t.equal(run.driverLagMs.max, 2);
});

t.test('Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3)', async (t) => {
  for (const good of ['0', '5', ' 120 ', 'Sun, 06 Nov 1994 08:49:37 GMT']) t.ok(isRetryAfter(good), good);
  for (const bad of ['', '-1', '1.5', 'later', 'five', '2026-10-21', 'Sun, 06 Nov 1994']) t.notOk(isRetryAfter(bad), bad);
});

t.test('the schedule: request i at i / rate, never more than the total', async (t) => {
  t.equal(dueBy(0, 1000, 5000), 1, 'the first is due at once');
  t.equal(dueBy(0.999, 1000, 5000), 1);
  t.equal(dueBy(1, 1000, 5000), 2);
  t.equal(dueBy(1000, 250, 5000), 251);
  t.equal(dueBy(60_000, 1000, 5000), 5000);
});

t.test('transport failures become outcome kinds', async (t) => {
  t.same(failureOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), { error: 'ECONNRESET' });
  t.same(failureOf(new Error('socket hang up')), { error: 'socket hang up' });
});

t.test('the session pool lends each token once, makes the rest wait, and gives up at the deadline', async (t) => {
  const pool = createSessionPool(['a', 'b']);
  const first = await pool.take(performance.now() + 1000);
  const second = await pool.take(performance.now() + 1000);
  t.same([first, second].sort(), ['a', 'b']);
  t.equal(pool.size, 0);
  const waiting = pool.take(performance.now() + 1000);
  pool.give('c');
  t.equal(await waiting, 'c', 'a waiting request gets the next token given back');
  const started = performance.now();
  t.equal(await pool.take(performance.now() + 50), undefined, 'nothing given back before the deadline');
  t.ok(performance.now() - started >= 45);
  pool.give('d');
  t.same(pool.idle(), ['d'], 'a token given back after a waiter gave up stays idle');
});

t.test('against a server that sheds every other request', async (t) => {
  let served = 0;
  const server: Server = createServer((_request, response) => {
    served += 1;
    if (served % 2 === 0) return void response.writeHead(503, { 'retry-after': '1', 'content-length': 0 }).end();
    // Answered 20 ms late, so a closed loop's rate shows it waits for answers.
    setTimeout(() => response.writeHead(200, { 'content-length': 2 }).end('ok'), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const http = createHttpPool(url, 64);
  t.teardown(() => http.close());
  const fire = async (deadline: number) => {
    try {
      const answer = await http.request({ method: 'GET', path: '/' }, deadline);
      return { status: answer.status, retryAfter: answer.retryAfter };
    } catch (error) {
      return failureOf(error);
    }
  };

  t.test('the open loop keeps its rate and times from the schedule', async (t) => {
    served = 0;
    const started = performance.now();
    const run = await runOpenLoop({ ratePerSec: 200, durationMs: 500, fire: (scheduledAt) => fire(scheduledAt + 2000) });
    t.equal(run.sent, 100, 'rate × duration requests, whatever the answers');
    t.ok(performance.now() - started < 1500, 'it does not wait for answers to send the next');
    t.equal(run.admitted + (run.shed['503'] ?? 0), 100);
    t.ok(run.admitted >= 49 && run.admitted <= 51);
    t.ok(run.admittedPerSec >= 98 && run.admittedPerSec <= 102, `${run.admittedPerSec}/s admitted: per second of the arrivals, not of the wait for the last answers`);
    t.equal(run.shedWithRetryAfter, run.shed['503']);
    t.ok(run.latencyMs.p50 >= 19, 'the server’s 20 ms is in the latency');
    t.same(run.failed, {});
  });

  t.test('the closed loop sends again only when answered', async (t) => {
    served = 0;
    const run = await runClosedLoop({ concurrency: 4, durationMs: 400, fire: (sentAt) => fire(sentAt + 2000) });
    // Each client: 20 ms for a 200, about nothing for a 503: about 2 requests per 20 ms per client.
    t.ok(run.sent > 40 && run.sent < 400, `${run.sent} sent`);
    t.equal(run.targetPerSec, 0);
  });
});
