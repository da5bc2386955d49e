// The audit log and its signed webhooks on a real roost (Postgres, Redis,
// the sandbox X, a receiver that verifies every request with the npm
// standardwebhooks library): a day of sign-ins and sign-outs, each event
// stored once and delivered once; the receiver down, then failing, then
// back; roost killed in the middle of deliveries and started again; two
// replicas sharing one outbox; the metrics; and no secret in the table, the
// payloads or the logs.
//
// The worker's request timeout (15 s), lease (60 s) and backoff (from 5 s)
// are not configurable, so waits that would be that long are skipped by
// moving the roost's injected clock to the moment the retry or the lease
// says, and waking the worker: what a receiver sees is what it would see
// after the real wait (each attempt is signed at the roost's clock, within
// the 5 minutes the library tolerates).
import { createHash, randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { decodeJwt } from 'jose';
import pg from 'pg';
import t, { type Test } from 'tap';
import { scrape } from '../helpers/back-at-app.js';
import { Browser, fragmentOf, readConsentForm } from '../helpers/browser.js';
import { runCommand } from '../helpers/child.js';
import { consent, signIn } from '../helpers/flow.js';
import { spawnRoost, type RoostProcess } from '../helpers/process.js';
import { APP_ORIGIN, APP_URL, CLIENT_ID, CLIENT_SECRET, CONSUMER_KEY, CONSUMER_SECRET, createTestSchema, freePort, startRoost, TEST_REDIS_URL, xKeys, type Roost } from '../helpers/roost.js';
import { newWebhookSecret, startWebhookReceiver, until, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startSandboxServer } from '../../src/sandbox/provider.js';
import { createDefaultSandboxUsers } from '../../src/sandbox/users.js';

const SECRET = newWebhookSecret();
const UA = 'webhooks-test-browser/1.0';
const CODE_RETURN_TO = `${APP_ORIGIN}/cb`;

/** Every secret the flows below handled; none may show up in the audit log, a payload or a log line. */
const secrets = new Set<string>([SECRET, SECRET.slice('whsec_'.length)]);
const keep = (...values: Array<string | null | undefined>) => {
  for (const value of values) if (value) secrets.add(value);
};
/** Where secrets must not be: each read at the end. */
const places: Array<{ readonly name: string; readonly text: string | (() => Promise<string> | string) }> = [];

interface EventRow {
  id: string;
  occurred_at: Date;
  type: string;
  user_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}
interface DeliveryRow {
  id: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  payload: string;
}

/** Plain SQL on one test database, beside the roost that uses it. */
function database(t: Pick<Test, 'teardown'>, url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  t.teardown(() => pool.end());
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<R>(text, values)).rows;
  return {
    query,
    events: () => query<EventRow>('select * from audit_events order by occurred_at, id'),
    deliveries: () => query<DeliveryRow>('select * from webhook_deliveries order by created_at, id'),
  };
}

/** The body Standard Webhooks recommends, as the event's row says it must be. */
function payloadOf(row: EventRow) {
  const at = row.occurred_at.toISOString();
  return {
    type: row.type,
    timestamp: at,
    data: { id: row.id, type: row.type, occurred_at: at, user_id: row.user_id, session_id: row.session_id, ip: row.ip, user_agent: row.user_agent, outcome: row.outcome, detail: row.detail },
  };
}

/** Every request the receiver saw for this event carried its row, signed and verified. */
function checkArrivals(t: Test, receiver: WebhookReceiver, rows: readonly EventRow[]) {
  for (const row of rows) {
    const arrivals = receiver.received.filter((request) => request.id === row.id);
    t.ok(arrivals.length > 0 && arrivals.every((request) => request.verified), `${row.type} ${row.id} arrived, every time with a signature the library accepts`);
    t.ok(
      arrivals.every((request) => isDeepStrictEqual(request.payload, payloadOf(row))),
      `${row.type}: the payload is the event as stored`,
    );
  }
  t.same(receiver.refused(), [], 'no request with a bad signature or timestamp');
}

const post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA, ...headers }, body: new URLSearchParams(form).toString() });

async function token(roost: Pick<Roost, 'url'>, form: Record<string, string>) {
  const response = await post(`${roost.url}/token`, form);
  const body = (await response.json()) as Record<string, string>;
  if (response.status !== 200) throw new Error(`/token answered ${response.status}: ${JSON.stringify(body)}`);
  keep(body.access_token, body.refresh_token);
  return body;
}

/** The cookies a browser holds mid-flow (the flow cookie's binding among them), and what X sent back. */
function keepFlow(browser: Browser, callbackUrl: string) {
  for (const value of browser.cookies.values()) keep(value);
  for (const [name, value] of new URL(callbackUrl).searchParams) if (name !== 'state') keep(value);
}

const receiver = await startWebhookReceiver(t, SECRET);
keep(receiver.credential);
// The clock every part of this roost reads: moved on to when a retry is due, never back.
let offset = 0;
const roost = await startRoost(t, { now: () => Date.now() + offset, env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET } });
keep(roost.config.cookieSecret, roost.config.encryptionKey?.toString('hex'));
const db = database(t, roost.config.databaseUrl as string);
places.push(
  { name: 'the audit table', text: async () => JSON.stringify(await db.events()) },
  { name: 'the outbox', text: async () => JSON.stringify(await db.deliveries()) },
  { name: 'what the receiver got', text: () => JSON.stringify(receiver.received.map(({ body, headers }) => ({ body, headers }))) },
  { name: "roost's log", text: () => roost.rawLogs.join('\n') },
);
const worker = roost.deps.webhooks;
if (!worker) throw new Error('WEBHOOK_URL is set, yet roost runs no delivery worker');

/** The default lease: a claimed delivery's next_attempt_at is this long after its claim. */
const LEASE_MS = 60_000;

/**
 * Once no attempt at these deliveries is in flight, moves the clock to when
 * the last of them is due again, and wakes the worker.
 */
async function dueNow(ids: readonly string[]) {
  const pendingOnes = async () => (await db.deliveries()).filter((row) => ids.includes(row.id) && row.status === 'pending');
  const leased = (row: DeliveryRow) => row.last_attempt_at !== null && row.next_attempt_at.getTime() - row.last_attempt_at.getTime() >= LEASE_MS;
  await until('no attempt is in flight', async () => !(await pendingOnes()).some(leased));
  const rows = await pendingOnes();
  const latest = Math.max(...rows.map((row) => row.next_attempt_at.getTime()));
  offset += Math.max(0, latest + 1 - (Date.now() + offset));
  worker?.wake();
}

const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  keep(verifier);
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

t.test('a day: each event stored once and delivered once, signed, with the event as its payload', async (t) => {
  t.same(await db.events(), [], 'a new roost has recorded nothing');

  // A new user signs in; the tokens come in the fragment.
  const browser = new Browser({ 'user-agent': UA });
  const first = await consent(browser, roost, { user: 0 });
  keepFlow(browser, first.callbackUrl);
  const fragment = fragmentOf((await browser.get(first.callbackUrl)).location);
  keep(fragment.get('access_token'), fragment.get('refresh_token'));
  const { sub, sid } = decodeJwt(fragment.get('access_token') as string) as { sub: string; sid: string };

  // The same user again, in the code mode: a code at the callback, the tokens at POST /token.
  const pkce = pkcePair();
  const codeBrowser = new Browser({ 'user-agent': UA });
  const second = await consent(codeBrowser, roost, { user: 0, returnTo: CODE_RETURN_TO, loginQuery: { code_challenge: pkce.challenge, code_challenge_method: 'S256' } });
  keepFlow(codeBrowser, second.callbackUrl);
  const code = new URL((await codeBrowser.get(second.callbackUrl)).location as string).searchParams.get('code') as string;
  keep(code);
  const codeTokens = await token(roost, { grant_type: 'authorization_code', code, code_verifier: pkce.verifier, redirect_uri: CODE_RETURN_TO });

  // Another person cancels at X.
  const cancelled = await signIn(new Browser({ 'user-agent': UA }), roost, { user: 1, action: 'cancel' });
  t.match(cancelled.location, `${APP_URL}#error=access_denied`);

  // A sign-in fails: its callback opens in a browser that did not start it.
  const stranger = new Browser({ 'user-agent': UA });
  const elsewhere = await consent(stranger, roost, { user: 1 });
  keepFlow(stranger, elsewhere.callbackUrl);
  const failed = await new Browser({ 'user-agent': UA }).get(elsewhere.callbackUrl);
  t.match(failed.location, `${APP_URL}#error=access_denied`);

  // A refresh is no event; sign-out with the refreshed token is.
  const refreshed = await token(roost, { grant_type: 'refresh_token', refresh_token: fragment.get('refresh_token') as string });
  const logout = await post(`${roost.url}/logout`, { refresh_token: refreshed.refresh_token as string });
  t.equal(logout.status, 204);

  // The user deletes the account with the access token of the code-mode session.
  const deleted = await fetch(`${roost.url}/me`, { method: 'DELETE', headers: { authorization: `Bearer ${codeTokens.access_token}`, 'user-agent': UA } });
  t.equal(deleted.status, 204);

  const rows = await db.events();
  const seen = { ip: '127.0.0.1', user_agent: UA };
  t.same(
    rows.map(({ type, user_id, session_id, ip, user_agent, outcome, detail }) => ({ type, user_id, session_id, ip, user_agent, outcome, detail })),
    [
      { type: 'sign_in.completed', user_id: sub, session_id: sid, ...seen, outcome: 'success', detail: { protocol: 'oauth1', mode: 'fragment', new_user: true } },
      { type: 'sign_in.completed', user_id: sub, session_id: null, ...seen, outcome: 'success', detail: { protocol: 'oauth1', mode: 'code', new_user: false } },
      { type: 'sign_in.denied', user_id: null, session_id: null, ...seen, outcome: 'failure', detail: { reason: 'cancelled' } },
      { type: 'sign_in.failed', user_id: null, session_id: null, ...seen, outcome: 'failure', detail: { reason: 'flow_browser_mismatch' } },
      { type: 'session.ended', user_id: sub, session_id: sid, ...seen, outcome: 'success', detail: { reason: 'logout' } },
      { type: 'account.deleted', user_id: sub, session_id: null, ...seen, outcome: 'success', detail: { by: 'user' } },
    ],
    'each event once, in order, and the refresh and the code redemption none',
  );
  t.equal(new Set(rows.map((row) => row.id)).size, rows.length, 'one id per event');

  await until('every event has arrived', () => rows.every((row) => receiver.countById().has(row.id)));
  checkArrivals(t, receiver, rows);
  t.same(
    rows.map((row) => receiver.countById().get(row.id)),
    rows.map(() => 1),
    'each exactly once: no lease ran out, so nothing was sent twice',
  );
  const request = receiver.received.find((arrival) => arrival.id === rows[0]?.id);
  t.equal(request?.method, 'POST');
  t.equal(request?.target, new URL(receiver.url).pathname, 'at WEBHOOK_URL as configured');
  t.equal(request?.headers['content-type'], 'application/json');
  t.ok(Math.abs((request?.timestamp ?? 0) - Date.now() / 1000) < 5, 'webhook-timestamp is the time of the attempt');
  await until('every delivery is recorded as delivered', async () => (await db.deliveries()).every((row) => row.status === 'delivered'));
  t.same(
    (await db.deliveries()).map(({ id, status, attempts, last_status, last_error }) => ({ id, status, attempts, last_status, last_error })),
    rows.map((row) => ({ id: row.id, status: 'delivered', attempts: 1, last_status: 204, last_error: null })),
    'one delivery per event, delivered at the first attempt',
  );
  t.same(
    (await db.deliveries()).map((row) => JSON.parse(row.payload) as unknown),
    rows.map(payloadOf),
    'the outbox holds the exact payload of each',
  );
  t.same(
    roost.logs.filter((line) => line.msg === 'audit detail left out' || line.msg === 'an audit event could not be stored'),
    [],
    'every event was stored whole',
  );
});

t.test('sessions that end other ways than one logout: each end recorded once', async (t) => {
  const known = new Set((await db.events()).map((row) => row.id));
  const newEvents = async () => (await db.events()).filter((row) => !known.has(row.id));
  const signedIn = async (user: number) => {
    const browser = new Browser({ 'user-agent': UA });
    const started = await consent(browser, roost, { user });
    keepFlow(browser, started.callbackUrl);
    const fragment = fragmentOf((await browser.get(started.callbackUrl)).location);
    keep(fragment.get('access_token'), fragment.get('refresh_token'));
    const { sid } = decodeJwt(fragment.get('access_token') as string) as { sid: string };
    return { access: fragment.get('access_token') as string, refresh: fragment.get('refresh_token') as string, sid };
  };

  // An app that retries its logout: the session ended once.
  const twice = await signedIn(2);
  for (let i = 0; i < 2; i += 1) t.equal((await post(`${roost.url}/logout`, { refresh_token: twice.refresh })).status, 204);
  const ended = (await newEvents()).filter((row) => row.type === 'session.ended' && row.session_id === twice.sid);
  t.equal(ended.length, 1, 'a second logout of an ended session records no second end');

  // A spent refresh token comes back after the grace window: the session ends (RFC 9700 §4.14.2).
  const reused = await signedIn(2);
  await token(roost, { grant_type: 'refresh_token', refresh_token: reused.refresh });
  offset += (roost.config.refreshReuseGrace + 1) * 1000;
  t.equal((await post(`${roost.url}/token`, { grant_type: 'refresh_token', refresh_token: reused.refresh })).status, 400, 'the reuse is refused');
  const [session] = await db.query<{ revoked_reason: string | null }>('select revoked_reason from sessions where id = $1', [reused.sid]);
  t.equal(session?.revoked_reason, 'refresh_token_reuse', 'and its session ended');
  t.same(
    (await newEvents()).filter((row) => row.session_id === reused.sid && row.type !== 'sign_in.completed').map((row) => row.type),
    ['refresh_token.reuse_detected', 'session.ended'],
    'the reuse, then the end of its session, are recorded',
  );

  // The user ends one of their sessions from their session list.
  const listed = await signedIn(2);
  const other = await signedIn(2);
  t.equal((await fetch(`${roost.url}/sessions/${other.sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${listed.access}`, 'user-agent': UA } })).status, 204);
  t.same(
    (await newEvents()).filter((row) => row.session_id === other.sid && row.type === 'session.ended').map((row) => row.detail.reason),
    ['revocation'],
    'DELETE /sessions/{id} records the end of that session',
  );

});

t.test('the receiver down, then answering 500, then back: everything delivered, each attempt signed afresh', async (t) => {
  // The events of the tests before are delivered first, so the counts below are this test's own.
  await until('the outbox is drained', async () => (await db.deliveries()).every((row) => row.status !== 'pending'));
  const known = new Set((await db.events()).map((row) => row.id));
  const delivered = (await scrape(roost.url))('roost_webhook_deliveries_total', { outcome: 'delivered' });
  const offsetBefore = offset;
  await receiver.down();
  const arrivedBefore = receiver.received.length;

  const browser = new Browser({ 'user-agent': UA });
  const started = await consent(browser, roost, { user: 1 });
  keepFlow(browser, started.callbackUrl);
  const access = fragmentOf((await browser.get(started.callbackUrl)).location).get('access_token') as string;
  keep(access);
  t.equal((await post(`${roost.url}/logout`, {}, { authorization: `Bearer ${access}` })).status, 204);
  const rows = (await db.events()).filter((row) => !known.has(row.id));
  t.same(rows.map((row) => row.type), ['sign_in.completed', 'session.ended'], 'recorded while the receiver is down');
  const ids = rows.map((row) => row.id);

  await until('the first attempts found no one', async () => (await db.deliveries()).filter((row) => ids.includes(row.id)).every((row) => row.attempts >= 1 && row.last_error !== null));
  for (const row of (await db.deliveries()).filter((row) => ids.includes(row.id))) {
    t.match(row, { status: 'pending', last_status: null, last_error: 'the receiver could not be reached' }, 'pending, and why');
    t.ok(row.attempts < 5, `retried after a backoff, not in a loop (${row.attempts} attempts so far)`);
  }
  t.equal(receiver.received.length, arrivedBefore, 'nothing arrived while it was down');
  let value = await scrape(roost.url);
  t.ok(value('roost_webhook_deliveries_total', { outcome: 'retried' }) >= 2, 'each failed attempt is counted as retried');
  t.ok(value('roost_webhook_oldest_pending_seconds') > 0, 'the oldest pending delivery has an age');

  // Up again, but failing.
  receiver.answer({ status: 500 });
  await receiver.up();
  await dueNow(ids);
  await until('both were answered 500', async () => (await db.deliveries()).filter((row) => ids.includes(row.id)).every((row) => row.last_status === 500));
  // As old as the first of them by roost's clock, which the retries moved on.
  const age = (Date.now() + offset - (rows[0] as EventRow).occurred_at.getTime()) / 1000;
  value = await scrape(roost.url);
  t.ok(value('roost_webhook_oldest_pending_seconds') >= age, `the age of the oldest pending one: ${age} s at least`);
  t.ok(age >= (offset - offsetBefore) / 1000, 'moved on with the clock');
  t.match(
    (await db.deliveries()).filter((row) => ids.includes(row.id)),
    ids.map(() => ({ status: 'pending', last_status: 500, last_error: 'the receiver answered 500' })),
  );

  // And back.
  receiver.answer({ status: 204 });
  await dueNow(ids);
  await until('both are delivered', async () => (await db.deliveries()).filter((row) => ids.includes(row.id)).every((row) => row.status === 'delivered'));
  checkArrivals(t, receiver, rows);
  for (const id of ids) {
    const arrivals = receiver.received.filter((request) => request.id === id);
    t.ok(arrivals.length >= 2, 'it arrived once answered 500, then again');
    t.equal(new Set(arrivals.map((request) => request.body)).size, 1, 'every attempt carried the same body, byte for byte');
    t.ok(
      arrivals.every((request, index) => index === 0 || request.timestamp >= (arrivals[index - 1] as { timestamp: number }).timestamp),
      'each attempt is signed at its own time',
    );
  }
  value = await scrape(roost.url);
  t.equal(value('roost_webhook_deliveries_total', { outcome: 'delivered' }), delivered + 2, 'two more delivered');
  t.equal(value('roost_webhook_oldest_pending_seconds'), 0, 'nothing pending: the age is 0');
});

t.test('metrics: deliveries by outcome as the outbox records them; 410 Gone gives up at once', async (t) => {
  const known = new Set((await db.events()).map((row) => row.id));
  receiver.answer({ status: 410 });
  await signIn(new Browser({ 'user-agent': UA }), roost, { user: 2, action: 'cancel' });
  const [gone] = (await db.events()).filter((row) => !known.has(row.id));
  await until('the delivery failed', async () => (await db.deliveries()).some((row) => row.id === gone?.id && row.status === 'failed'));
  receiver.answer({ status: 204 });
  t.match((await db.deliveries()).find((row) => row.id === gone?.id), { attempts: 1, last_status: 410, last_error: 'the receiver answered 410 (Gone): not retried' });

  const response = await fetch(`${roost.url}/metrics`);
  const text = await response.text();
  t.match(text, '# TYPE roost_webhook_deliveries_total counter');
  t.match(text, '# TYPE roost_webhook_oldest_pending_seconds gauge');
  const value = await scrape(roost.url);
  const [totals] = await db.query<{ attempts: number; delivered: number; failed: number; pending: number }>(
    "select sum(attempts)::int as attempts, count(*) filter (where status = 'delivered')::int as delivered, count(*) filter (where status = 'failed')::int as failed, count(*) filter (where status = 'pending')::int as pending from webhook_deliveries",
  );
  t.equal(totals?.pending, 0);
  t.equal(totals?.failed, 1);
  t.equal(value('roost_webhook_deliveries_total', { outcome: 'delivered' }), totals?.delivered, 'delivered: as many as the outbox says');
  t.equal(value('roost_webhook_deliveries_total', { outcome: 'failed' }), 1, 'failed: the one given up');
  t.equal(
    value('roost_webhook_deliveries_total', { outcome: 'retried' }),
    (totals?.attempts ?? 0) - (totals?.delivered ?? 0) - (totals?.failed ?? 0),
    'retried: every other attempt',
  );
  t.equal(value('roost_webhook_oldest_pending_seconds'), 0);
});

// Roost as separate processes, against a sandbox X of their own.
const users = createDefaultSandboxUsers();
const callbacks: string[] = [];
const sandbox = await startSandboxServer({ consumerKey: CONSUMER_KEY, consumerSecret: CONSUMER_SECRET, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, allowedCallbacks: callbacks, users });
t.teardown(() => sandbox.close());

function processEnv(port: number, databaseUrl: string, webhookUrl: string, shared: { cookieSecret: string; encryptionKey: string; prefix: string }): Record<string, string> {
  const publicUrl = `http://127.0.0.1:${port}`;
  callbacks.push(`${publicUrl}/login/callback`);
  keep(shared.cookieSecret, shared.encryptionKey);
  return {
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: shared.prefix,
    ...xKeys('oauth1', sandbox.url),
    RETURN_TO_URLS: APP_URL,
    COOKIE_SECRET: shared.cookieSecret,
    ENCRYPTION_KEY: shared.encryptionKey,
    LOGIN_RATE_LIMIT: '100000',
    WEBHOOK_URL: webhookUrl,
    WEBHOOK_SECRET: SECRET,
  };
}

const newShared = () => ({ cookieSecret: randomBytes(32).toString('hex'), encryptionKey: randomBytes(32).toString('hex'), prefix: `roost-test:${randomBytes(6).toString('hex')}:` });

/** A whole sign-in on a roost process; returns where the browser ended. */
async function signInOn(base: string, userIndex: number): Promise<string> {
  const browser = new Browser({ 'user-agent': UA });
  const login = await browser.get(`${base}/login?return_to=${encodeURIComponent(APP_URL)}`);
  if (login.status !== 302 || !login.location) throw new Error(`/login answered ${login.status}: ${login.body}`);
  const form = readConsentForm((await browser.get(login.location)).body);
  const decision = await browser.postForm(new URL(form.action ?? '', login.location).href, { ...form.hidden, user_id: users[userIndex]?.id_str as string, action: 'approve' });
  keepFlow(browser, decision.location as string);
  const done = await browser.get(decision.location as string);
  const fragment = fragmentOf(done.location);
  keep(fragment.get('access_token'), fragment.get('refresh_token'));
  return done.location as string;
}

const processLog = (name: string, child: RoostProcess) => places.push({ name, text: () => child.output() });

t.test('roost killed in the middle of deliveries: started again, it delivers what was pending', async (t) => {
  const hanging = await startWebhookReceiver(t, SECRET);
  keep(hanging.credential);
  hanging.answer('hang');
  const databaseUrl = await createTestSchema(t);
  const killedDb = database(t, databaseUrl);
  const port = await freePort();
  const shared = newShared();
  const first = spawnRoost(t, processEnv(port, databaseUrl, hanging.url, shared));
  processLog('the killed roost', first);
  await first.ready();

  for (let i = 0; i < 6; i += 1) t.match(await signInOn(`http://127.0.0.1:${port}`, i % 3), `${APP_URL}#access_token=`);
  // Four at once (the worker's concurrency) are held by the receiver; the other two wait their turn.
  await until('four deliveries are held', () => hanging.held() === 4);
  const rows = await killedDb.events();
  t.equal(rows.length, 6);
  const before = await killedDb.deliveries();
  const claimed = before.filter((row) => row.attempts === 1).map((row) => row.id);
  const unclaimed = before.filter((row) => row.attempts === 0).map((row) => row.id);
  t.same([before.every((row) => row.status === 'pending'), claimed.length, unclaimed.length], [true, 4, 2], 'four in flight, two not yet tried');
  t.same(hanging.received.map((request) => request.id).sort(), [...claimed].sort(), 'the four in flight are the four held');

  first.child.kill('SIGKILL');
  await first.exited;
  t.equal(first.child.signalCode, 'SIGKILL');
  hanging.answer({ status: 204 });

  // Started again on the same port and database; its clock is moved on below, when the lease is to run out.
  let later = 0;
  const restarted = await startRoost(t, {
    port,
    databaseUrl,
    now: () => Date.now() + later,
    env: { ENCRYPTION_KEY: shared.encryptionKey, COOKIE_SECRET: shared.cookieSecret, WEBHOOK_URL: hanging.url, WEBHOOK_SECRET: SECRET },
  });
  places.push({ name: "the restarted roost's log", text: () => restarted.rawLogs.join('\n') });
  await until('the two never tried are delivered', () => unclaimed.every((id) => hanging.countById().get(id) === 1));
  const leased = (await killedDb.deliveries()).filter((row) => claimed.includes(row.id));
  t.ok(
    leased.every((row) => row.status === 'pending' && row.attempts === 1 && row.next_attempt_at.getTime() > Date.now()),
    'the four the killed roost held stay leased to it',
  );
  t.ok(claimed.every((id) => hanging.countById().get(id) === 1), 'and are not sent again before the lease ends');

  later = Math.max(...leased.map((row) => row.next_attempt_at.getTime())) + 1 - Date.now();
  restarted.deps.webhooks?.wake();
  await until('the lease ran out: the four are delivered', async () => (await killedDb.deliveries()).every((row) => row.status === 'delivered'));
  checkArrivals(t, hanging, rows);
  t.same(
    Object.fromEntries(rows.map((row) => [row.id, hanging.countById().get(row.id)])),
    Object.fromEntries(rows.map((row) => [row.id, claimed.includes(row.id) ? 2 : 1])),
    'every event arrived; twice only those whose lease ran out (at least once), the others once',
  );
  t.same(
    (await killedDb.deliveries()).map((row) => [row.id, row.attempts]),
    before.map((row) => [row.id, claimed.includes(row.id) ? 2 : 1]),
  );
  // Read now: the schema goes with this test.
  places.push({ name: 'the audit table and outbox of the killed roost', text: JSON.stringify([await killedDb.events(), await killedDb.deliveries()]) });
});

t.test('two replicas on one outbox: every event delivered, none twice', async (t) => {
  const shared = newShared();
  const replicaReceiver = await startWebhookReceiver(t, SECRET);
  keep(replicaReceiver.credential);
  const databaseUrl = await createTestSchema(t);
  const replicaDb = database(t, databaseUrl);
  const ports = [await freePort(), await freePort()];
  const replicas = ports.map((port) => spawnRoost(t, { ...processEnv(port, databaseUrl, replicaReceiver.url, shared) }));
  replicas.forEach((replica, index) => processLog(`replica ${index + 1}`, replica));
  await Promise.all(replicas.map((replica) => replica.ready()));
  const bases = ports.map((port) => `http://127.0.0.1:${port}`);

  // A burst on both at once.
  await Promise.all(Array.from({ length: 12 }, (_, i) => signInOn(bases[i % 2] as string, i % 3)));
  // An operator revokes the signing key from a third process: its events reach the outbox without waking anyone.
  const [current] = await replicaDb.query<{ kid: string }>("select kid from signing_keys where state = 'current'");
  const revoked = await runCommand({ script: 'src/cli/keys.ts' }, ['revoke', current?.kid as string], { DATABASE_URL: databaseUrl, ENCRYPTION_KEY: shared.encryptionKey, WEBHOOK_URL: replicaReceiver.url, WEBHOOK_SECRET: SECRET });
  t.equal(revoked.code, 0, revoked.stderr);
  places.push({ name: 'the keys command', text: () => revoked.stdout + revoked.stderr });

  const rows = await replicaDb.events();
  t.equal(rows.filter((row) => row.type === 'sign_in.completed').length, 12);
  t.same(
    rows.filter((row) => row.type.startsWith('signing_key.')).map((row) => [row.type, row.detail.kid === current?.kid]),
    [
      ['signing_key.revoked', true],
      ['signing_key.rotated', false],
    ],
    'the revocation and the key that replaced it',
  );
  // The command's events are found by a replica's poll (every 2 s).
  await until('every event has arrived', () => rows.every((row) => replicaReceiver.countById().has(row.id)));
  await until('every delivery is recorded', async () => (await replicaDb.deliveries()).every((row) => row.status === 'delivered'));
  checkArrivals(t, replicaReceiver, rows);
  t.same(
    rows.map((row) => replicaReceiver.countById().get(row.id)),
    rows.map(() => 1),
    'each exactly once: a claim takes a delivery from the other replica too',
  );
  t.ok((await replicaDb.deliveries()).every((row) => row.attempts === 1), 'each claimed once');
  const counts = await Promise.all(bases.map(async (base) => (await scrape(base))('roost_webhook_deliveries_total', { outcome: 'delivered' })));
  t.equal(counts[0]! + counts[1]!, rows.length, "the replicas' counts add up to the events");
  t.ok(counts.every((count) => count > 0), `both replicas delivered (${counts.join(' and ')})`);

  for (const replica of replicas) replica.child.kill('SIGTERM');
  t.same(await Promise.all(replicas.map((replica) => replica.exited)), [0, 0], 'both stop cleanly');
  places.push({ name: "the replicas' audit table and outbox", text: JSON.stringify([rows, await replicaDb.deliveries()]) });
});

t.test('no secret in the audit log, the outbox, what the receivers got, or any log', async (t) => {
  t.ok(secrets.size > 40, `searched for ${secrets.size} secrets`);
  for (const place of places) {
    const text = typeof place.text === 'string' ? place.text : await place.text();
    t.ok(text.length > 0, `${place.name} has something to search`);
    const found = [...secrets].filter((secret) => text.includes(secret));
    t.same(found.map((secret) => `${secret.slice(0, 6)}…`), [], `nothing secret in ${place.name}`);
  }
});
