// The delivery worker against the real Postgres and a real HTTP receiver
// that verifies every request with the npm standardwebhooks library: what
// arrives, retries and their timestamps, receivers that are down, failing or
// hanging, replicas sharing the outbox, leases, WEBHOOK_MAX_AGE, a database
// that goes away, and stopping.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import t, { type Test } from 'tap';
import { createAuditWriter } from '../../src/audit/writer.js';
import { createLogger } from '../../src/ops/logger.js';
import { createDatabase, migrateToLatest, type Db } from '../../src/store/db.js';
import { startDeliveryWorker, type DeliveryOutcome, type DeliveryWorker, type DeliveryWorkerOptions } from '../../src/webhooks/delivery-worker.js';
import { claimDueDeliveries, findDelivery } from '../../src/webhooks/outbox.js';
import { parseWebhookSecret } from '../../src/webhooks/standard-webhooks.js';
import { startCuttableProxy } from '../helpers/cuttable-proxy.js';
import { createTestSchema, freePort } from '../helpers/roost.js';

const url = await createTestSchema(t);
const db = await createDatabase({ databaseUrl: url, poolSize: 6, dataDir: '.' });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const KEY = (parseWebhookSecret(SECRET) as { key: Buffer }).key;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

interface Received {
  readonly id: string;
  readonly timestamp: number;
  readonly signature: string;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
  readonly verified: boolean;
  readonly at: number;
  /** How many times this id had arrived, this one included. */
  readonly n: number;
}
type Answer = number | 'hang';

/** A webhook receiver on its own port, checking each request as a receiver would. */
async function startReceiver(t: Test, answer: (request: Received) => Answer | Promise<Answer>, port = 0) {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async () => {
    server = createServer(async (request, response) => {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      let verified = true;
      try {
        new Webhook(SECRET).verify(body, request.headers as Record<string, string>);
      } catch {
        verified = false;
      }
      const id = String(request.headers['webhook-id']);
      const entry: Received = {
        id,
        timestamp: Number(request.headers['webhook-timestamp']),
        signature: String(request.headers['webhook-signature']),
        body,
        headers: request.headers,
        verified,
        at: Date.now(),
        n: received.filter((r) => r.id === id).length + 1,
      };
      received.push(entry);
      const status = await answer(entry);
      if (status !== 'hang') response.writeHead(status).end();
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server?.listening) return resolve();
      server.close(() => resolve());
    });
  await listen();
  t.teardown(stop);
  return { received, url: () => `http://127.0.0.1:${port}/hooks/roost?receiver_key=receiver-credential`, stop, restart: listen };
}

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger('info', sink), lines, raw };
}

interface Started {
  readonly worker: DeliveryWorker;
  readonly outcomes: DeliveryOutcome[];
  readonly databaseErrors: unknown[];
  readonly logs: ReturnType<typeof captureLogs>;
}

/** A worker with short times, closed at the end of the test. */
function start(t: Test, options: Partial<DeliveryWorkerOptions> & Pick<DeliveryWorkerOptions, 'url'>): Started {
  const outcomes: DeliveryOutcome[] = [];
  const databaseErrors: unknown[] = [];
  const logs = captureLogs();
  const worker = startDeliveryWorker({
    db,
    key: KEY,
    now: () => Date.now(),
    maxAgeMs: 60_000,
    timeoutMs: 400,
    leaseMs: 2000,
    concurrency: 4,
    pollIntervalMs: 50,
    retry: { baseMs: 20, capMs: 100 },
    databaseRetry: { baseMs: 20, capMs: 100 },
    closeGraceMs: 300,
    logger: logs.logger,
    onDelivery: (outcome) => outcomes.push(outcome),
    onDatabaseError: (error) => databaseErrors.push(error),
    ...options,
  });
  t.teardown(() => worker.close());
  return { worker, outcomes, databaseErrors, logs };
}

let writerClock: () => number = () => Date.now();
const audit = createAuditWriter({
  now: () => writerClock(),
  webhooks: true,
  onWriteFailed: (error) => {
    throw error;
  },
  onDetailRefused: () => undefined,
});
async function record(on: Db = db) {
  const event = await audit.record(on, { type: 'user.banned', userId: randomUUID(), ip: '198.51.100.4', detail: { reason: 'spam' } });
  return event?.id as string;
}
const delivery = (id: string) => findDelivery(db, id);

t.beforeEach(async () => {
  writerClock = () => Date.now();
  await sql`delete from webhook_deliveries`.execute(db);
});

t.test('an event arrives once, signed as the library verifies, with the stored body', async (t) => {
  const receiver = await startReceiver(t, () => 204);
  const { worker, outcomes, logs } = start(t, { url: receiver.url() });
  const id = await record();
  worker.wake();
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered');
  t.equal(receiver.received.length, 1);
  const [request] = receiver.received;
  t.ok(request?.verified, 'the standardwebhooks library verifies it');
  t.equal(request?.id, id, 'webhook-id is the event id');
  t.equal(request?.headers['content-type'], 'application/json');
  t.equal(request?.body, (await delivery(id))?.payload, 'the body is the stored payload, byte for byte');
  t.match(JSON.parse(request?.body as string), { type: 'user.banned', data: { id, type: 'user.banned', ip: '198.51.100.4', outcome: 'success', detail: { reason: 'spam' } } });
  t.throws(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(request?.body as string, request?.headers as Record<string, string>), { message: 'No matching signature found' }, 'another secret does not verify it');
  t.match(await delivery(id), { status: 'delivered', attempts: 1, last_status: 204, last_error: null, delivered_at: Date });
  t.same(outcomes, ['delivered']);
  t.notMatch(logs.raw.join('\n'), /receiver-credential|whsec_|v1,/, 'no URL, secret or signature in the log');
  t.equal(await worker.oldestPendingAgeSeconds(), 0, 'nothing pending');
});

t.test('a receiver answering 500: retried, the same id and body, a fresh timestamp and signature each time', async (t) => {
  // The worker's clock moves a second on at each request, so each attempt is signed at a later second.
  let skew = 0;
  const receiver = await startReceiver(t, (request) => {
    skew += 1000;
    return request.n <= 3 ? 500 : 200;
  });
  const { worker, outcomes } = start(t, { url: receiver.url(), now: () => Date.now() + skew });
  const id = await record();
  worker.wake();
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered');
  const attempts = receiver.received;
  t.equal(attempts.length, 4);
  t.ok(attempts.every((attempt) => attempt.id === id), 'the same webhook-id every time');
  t.ok(attempts.every((attempt) => attempt.verified), 'each one verifies');
  t.equal(new Set(attempts.map((attempt) => attempt.body)).size, 1, 'the same body');
  t.equal(new Set(attempts.map((attempt) => attempt.timestamp)).size, 4, 'a fresh timestamp each time');
  t.equal(new Set(attempts.map((attempt) => attempt.signature)).size, 4, 'signed afresh each time');
  t.ok(attempts.every((attempt, i) => i === 0 || attempt.timestamp > (attempts[i - 1] as Received).timestamp), 'each later than the one before');
  t.same(outcomes, ['retried', 'retried', 'retried', 'delivered']);
  t.match(await delivery(id), { status: 'delivered', attempts: 4, last_status: 200, last_error: null });
});

t.test('retries wait longer each time (exponential backoff with jitter)', async (t) => {
  const receiver = await startReceiver(t, (request) => (request.n <= 3 ? 500 : 200));
  // random 0.999: each wait at the top of its jitter range, 60, 120 and 240 ms. The poll is slower than all of them.
  const { worker } = start(t, { url: receiver.url(), random: () => 0.999, retry: { baseMs: 60, capMs: 1000 }, pollIntervalMs: 5000 });
  const id = await record();
  worker.wake();
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered');
  const gaps = receiver.received.slice(1).map((attempt, i) => attempt.at - (receiver.received[i] as Received).at);
  t.equal(gaps.length, 3);
  // Not before its wait, and not at the next poll either: the worker looks when its own retry is due.
  [60, 120, 240].forEach((wait, i) => t.ok((gaps[i] as number) >= wait - 2 && (gaps[i] as number) < 1000, `wait ${i + 1}: ${gaps[i]} ms, at least ${wait}`));
  await worker.close();
  const zero = await startReceiver(t, (request) => (request.n <= 3 ? 500 : 200));
  const jittered = start(t, { url: zero.url(), random: () => 0, retry: { baseMs: 400, capMs: 1000 }, pollIntervalMs: 5000 });
  const other = await record();
  jittered.worker.wake();
  await until('it is delivered', async () => (await delivery(other))?.status === 'delivered', 1000);
  t.equal(zero.received.length, 4, 'with jitter at its low end the retries come at once, not 400 ms and more apart');
});

t.test('a receiver that is down, then back up', async (t) => {
  const port = await freePort();
  const target = `http://127.0.0.1:${port}/`;
  const { outcomes, worker } = start(t, { url: target });
  const id = await record();
  worker.wake();
  await until('two attempts failed', () => outcomes.length >= 2);
  t.match(await delivery(id), { status: 'pending', last_status: null, last_error: 'the receiver could not be reached' });
  const receiver = await startReceiver(t, () => 200, port);
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered');
  t.equal(receiver.received.length, 1);
  t.ok(receiver.received[0]?.verified);
  t.same(new Set(outcomes), new Set(['retried', 'delivered']));
});

t.test('a hanging receiver times out and holds up no other delivery', async (t) => {
  let hung = '';
  const receiver = await startReceiver(t, (request) => {
    if (hung === '') hung = request.id;
    return request.id === hung && request.n === 1 ? 'hang' : 200;
  });
  const { worker } = start(t, { url: receiver.url(), timeoutMs: 1500, concurrency: 2 });
  const first = await record();
  worker.wake();
  await until('the first request is held', () => hung !== '');
  const startedAt = Date.now();
  const others = [await record(), await record(), await record()];
  worker.wake();
  await until('the others are delivered', async () => (await Promise.all(others.map(delivery))).every((row) => row?.status === 'delivered'));
  t.ok(Date.now() - startedAt < 1200, `the others went through while one request hung, before its timeout (${Date.now() - startedAt} ms)`);
  t.equal((await delivery(first))?.status, 'pending');
  await until('the hung one is delivered on a retry', async () => (await delivery(first))?.status === 'delivered');
  t.match(await delivery(first), { attempts: 2, last_status: 200 });
  t.ok(receiver.received.filter((r) => r.id === first).length === 2);
});

t.test('two workers on one outbox deliver each event once', async (t) => {
  const receiver = await startReceiver(t, async () => {
    await sleep(5);
    return 200;
  });
  const replica = await createDatabase({ databaseUrl: url, poolSize: 3, dataDir: '.' });
  t.teardown(() => replica.destroy());
  const ids = await Promise.all(Array.from({ length: 40 }, () => record()));
  const a = start(t, { url: receiver.url() });
  const b = start(t, { url: receiver.url(), db: replica });
  a.worker.wake();
  b.worker.wake();
  await until('every one is delivered', async () => (await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where status = 'delivered'`.execute(db)).rows[0]?.n === 40);
  await sleep(150);
  t.equal(receiver.received.length, 40, 'forty requests for forty events');
  t.same([...new Set(receiver.received.map((r) => r.id))].sort(), [...ids].sort());
  t.ok(a.outcomes.length > 0 && b.outcomes.length > 0, `both took part (${a.outcomes.length} and ${b.outcomes.length})`);
});

t.test('a worker that died mid-delivery: another delivers after its lease', async (t) => {
  const receiver = await startReceiver(t, () => 200);
  const id = await record();
  // What a worker that crashed after claiming leaves behind: a claimed row, never settled.
  const now = Date.now();
  const [claimed] = await claimDueDeliveries(db, { now: new Date(now), leaseUntil: new Date(now + 600), expiredBy: new Date(0), limit: 1 });
  t.equal(claimed?.id, id);
  const { worker } = start(t, { url: receiver.url() });
  worker.wake();
  await sleep(300);
  t.equal(receiver.received.length, 0, 'not while the lease holds');
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered');
  t.ok((receiver.received[0]?.at as number) >= now + 600, 'after the lease');
  t.match(await delivery(id), { attempts: 2 });
});

t.test('a worker stopped mid-delivery hands it back for another at once', async (t) => {
  const receiver = await startReceiver(t, (request) => (request.n === 1 ? 'hang' : 200));
  const first = start(t, { url: receiver.url(), timeoutMs: 10_000, leaseMs: 60_000, closeGraceMs: 100 });
  const id = await record();
  first.worker.wake();
  await until('the request is held', () => receiver.received.length === 1);
  const closing = Date.now();
  await first.worker.close();
  t.ok(Date.now() - closing < 1000, 'close waits the grace, then abandons the request');
  t.match(await delivery(id), { status: 'pending', attempts: 1, last_error: 'interrupted: the worker was stopping' });
  t.ok(((await delivery(id))?.next_attempt_at as Date).getTime() <= Date.now(), 'due now, not after its 60 s lease');
  const second = start(t, { url: receiver.url() });
  second.worker.wake();
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered');
  t.same(first.outcomes, [], 'the stopped worker counted nothing');
});

t.test('close lets a delivery in flight finish within the grace', async (t) => {
  const receiver = await startReceiver(t, async () => {
    await sleep(150);
    return 200;
  });
  const { worker } = start(t, { url: receiver.url(), closeGraceMs: 2000 });
  const id = await record();
  worker.wake();
  await until('the request arrived', () => receiver.received.length === 1);
  await worker.close();
  t.equal((await delivery(id))?.status, 'delivered', 'settled before close resolved');
  const later = await record();
  worker.wake();
  await sleep(200);
  t.equal((await delivery(later))?.status, 'pending', 'a closed worker takes nothing more');
  t.equal(receiver.received.length, 1);
});

t.test('WEBHOOK_MAX_AGE: retried until then, then kept as failed', async (t) => {
  const receiver = await startReceiver(t, () => 503);
  const { worker, outcomes, logs } = start(t, { url: receiver.url(), maxAgeMs: 400 });
  const id = await record();
  worker.wake();
  await until('it failed', async () => (await delivery(id))?.status === 'failed');
  const row = await delivery(id);
  t.match(row, { status: 'failed', last_status: 503, last_error: 'the receiver answered 503; given up: WEBHOOK_MAX_AGE passed' });
  t.ok(receiver.received.length >= 2, `retried meanwhile (${receiver.received.length} attempts)`);
  t.equal(row?.attempts, receiver.received.length, 'every claim was an attempt');
  t.ok((row?.last_attempt_at as Date).getTime() < (row?.created_at as Date).getTime() + 400, 'the last one began before the max age');
  t.equal(outcomes.at(-1), 'failed');
  t.match(logs.lines.find((line) => line.msg === 'webhook delivery failed for good'), { level: 40, delivery: id, type: 'user.banned', reason: /WEBHOOK_MAX_AGE/ });
  const count = receiver.received.length;
  await sleep(200);
  t.equal(receiver.received.length, count, 'and never sent again');
});

t.test('an event older than WEBHOOK_MAX_AGE when first seen is failed unsent', async (t) => {
  const receiver = await startReceiver(t, () => 200);
  writerClock = () => Date.now() - 120_000;
  const id = await record();
  const { worker, outcomes } = start(t, { url: receiver.url(), maxAgeMs: 60_000 });
  worker.wake();
  await until('it failed', async () => (await delivery(id))?.status === 'failed');
  t.match(await delivery(id), { attempts: 0, last_error: /WEBHOOK_MAX_AGE/ });
  t.equal(receiver.received.length, 0);
  t.same(outcomes, ['failed']);
});

t.test('a 410 Gone is not retried', async (t) => {
  const receiver = await startReceiver(t, () => 410);
  const { worker } = start(t, { url: receiver.url() });
  const id = await record();
  worker.wake();
  await until('it failed', async () => (await delivery(id))?.status === 'failed');
  t.match(await delivery(id), { attempts: 1, last_status: 410 });
  await sleep(150);
  t.equal(receiver.received.length, 1);
});

t.test('Postgres away: the worker keeps trying, then delivers', async (t) => {
  const receiver = await startReceiver(t, () => 200);
  const target = new URL(url);
  const proxy = await startCuttableProxy(target.hostname, Number(target.port || 5432));
  t.teardown(() => proxy.close());
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  const through = await createDatabase({ databaseUrl: proxied.href, poolSize: 2, dataDir: '.', timeoutMs: 500 });
  t.teardown(() => through.destroy());
  await proxy.cut();
  const { worker, databaseErrors, logs } = start(t, { url: receiver.url(), db: through });
  const id = await record();
  worker.wake();
  await until('several looks failed', () => databaseErrors.length >= 3);
  await t.rejects(worker.oldestPendingAgeSeconds(), { code: 'database_unavailable' }, 'the gauge says it cannot tell');
  t.equal(receiver.received.length, 0);
  t.match(logs.lines.find((line) => line.msg === 'webhook deliveries: the outbox could not be read; trying again'), { level: 40, failures: 1 });
  const failuresBefore = databaseErrors.length;
  await sleep(300);
  t.ok(databaseErrors.length - failuresBefore < 10, `the looks back off (${databaseErrors.length - failuresBefore} in 300 ms)`);
  await proxy.restore();
  await until('it is delivered', async () => (await delivery(id))?.status === 'delivered', 8000);
  t.equal(receiver.received.length, 1);
  t.ok(logs.lines.some((line) => line.msg === 'webhook deliveries: the database answers again'));
  t.ok(await worker.oldestPendingAgeSeconds() === 0);
});

t.test('the oldest pending age', async (t) => {
  const receiver = await startReceiver(t, () => 500);
  writerClock = () => Date.now() - 30_000;
  await record();
  const { worker } = start(t, { url: receiver.url(), retry: { baseMs: 60_000, capMs: 60_000 } });
  const age = await worker.oldestPendingAgeSeconds();
  t.ok(age >= 30 && age < 32, `about 30 s (${age})`);
});
