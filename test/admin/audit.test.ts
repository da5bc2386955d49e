// GET /admin/audit with each filter and its cursor, GET
// /admin/webhooks/deliveries against a real receiver that gives up on
// events (410) or fails them (500), and what the admin API leaves behind:
// every action in the audit log with its key's id, the key itself nowhere
// (the audit table, the webhook outbox, the logs).
import { sql } from 'kysely';
import t from 'tap';
import { adminKeyId } from '../../src/admin/admin-keys.js';
import { AUDIT_EVENT_TYPES } from '../../src/audit/events.js';
import { contract } from '../helpers/contract.js';
import { newWebhookSecret, startWebhookReceiver, until } from '../helpers/webhook-receiver.js';
import { ADMIN_KEYS, admin, signedIn, startAdminRoost } from '../helpers/admin-roost.js';

const SECRET = newWebhookSecret();
const receiver = await startWebhookReceiver(t, SECRET);
// Given up at once: each delivery is failed, as a receiver that wants no more of an event asks.
receiver.answer({ status: 410 });
const roost = await startAdminRoost(t, { env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET } });
const alice = await signedIn(roost, 0);
const bob = await signedIn(roost, 1);
await signedIn(roost, 0);
await fetch(`${roost.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${bob.access}` } });

type Event = { id: string; type: string; user_id: string | null; occurred_at: string };

/** Every page of a listing, following next_cursor. */
async function walk(path: string, member: 'events' | 'deliveries', limit: number): Promise<Array<Record<string, unknown>>> {
  const all: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page += 1) {
    const answer = await admin(roost, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.text}`);
    all.push(...answer.json[member]);
    cursor = answer.json.next_cursor;
    if (cursor === null) return all;
  }
  throw new Error('no end to the pages');
}

t.test('the document lists exactly the event types roost records', async (t) => {
  const schemas = (contract().document.components as { schemas: Record<string, { enum?: string[] }> }).schemas;
  t.same(schemas.AuditEventType?.enum, [...AUDIT_EVENT_TYPES]);
});

t.test('the audit log newest first, by user, by type, by time, a page at a time', async (t) => {
  const everything = (await admin(roost, 'GET', '/admin/audit?limit=200')).json.events as Event[];
  t.ok(everything.length >= 4);
  t.same(everything.map((event) => event.id), everything.map((event) => event.id).sort().reverse(), 'newest first (ids are UUIDv7)');

  const hers = (await admin(roost, 'GET', `/admin/audit?user_id=${alice.sub.toUpperCase()}`)).json.events as Event[];
  t.ok(hers.length >= 2);
  t.ok(hers.every((event) => event.user_id === alice.sub), 'user_id: only hers, whatever the id’s case');

  const signIns = (await admin(roost, 'GET', '/admin/audit?type=sign_in.completed')).json.events as Event[];
  t.equal(signIns.length, 3);
  t.ok(signIns.every((event) => event.type === 'sign_in.completed'));
  const herSignIns = (await admin(roost, 'GET', `/admin/audit?type=sign_in.completed&user_id=${alice.sub}`)).json.events as Event[];
  t.equal(herSignIns.length, 2, 'filters combine');

  const ended = (await admin(roost, 'GET', '/admin/audit?type=session.ended')).json.events as Event[];
  t.match(ended, [{ user_id: bob.sub, detail: { reason: 'logout' } }]);

  // A time between the first and the last sign-in splits them.
  const split = new Date((Date.parse(signIns[0]!.occurred_at) + Date.parse(signIns[2]!.occurred_at)) / 2);
  if (split.getTime() === Date.parse(signIns[0]!.occurred_at)) split.setTime(split.getTime() - 1);
  const since = (await admin(roost, 'GET', `/admin/audit?type=sign_in.completed&since=${encodeURIComponent(split.toISOString())}`)).json.events as Event[];
  const until = (await admin(roost, 'GET', `/admin/audit?type=sign_in.completed&until=${encodeURIComponent(split.toISOString())}`)).json.events as Event[];
  t.ok(since.length > 0 && until.length > 0, 'the time splits them');
  t.ok(since.every((event) => Date.parse(event.occurred_at) >= split.getTime()), 'since: at or after');
  t.ok(until.every((event) => Date.parse(event.occurred_at) < split.getTime()), 'until: before');
  t.same([...since, ...until].map((event) => event.id), signIns.map((event) => event.id), 'together, all of them');
  // The same instant written two hours ahead, with its offset.
  const zoned = `${new Date(split.getTime() + 2 * 3600_000).toISOString().slice(0, -1)}+02:00`;
  t.same((await admin(roost, 'GET', `/admin/audit?type=sign_in.completed&since=${encodeURIComponent(zoned)}`)).json.events, since, 'an offset is read as such');
  const empty = await admin(roost, 'GET', `/admin/audit?since=${encodeURIComponent(split.toISOString())}&until=${encodeURIComponent(split.toISOString())}`);
  t.same(empty.json, { events: [], next_cursor: null }, 'an empty window');

  const paged = await walk('/admin/audit?type=sign_in.completed', 'events', 1);
  t.same(paged.map((event) => event.id), signIns.map((event) => event.id), 'one a page: each once, in order');
  const before = (await admin(roost, 'GET', '/admin/audit?type=admin.action&limit=200')).json.events as Array<Event & { detail: Record<string, unknown> }>;
  const listed = (await admin(roost, 'GET', '/admin/audit?type=admin.action&limit=200')).json.events as Array<Event & { detail: Record<string, unknown> }>;
  t.equal(listed.length, before.length + 1, 'a listing is recorded after it is read: never in its own page');
  t.match(listed[0], { type: 'admin.action', detail: { action: 'audit.list', by: 'admin' } });
});

t.test('queries the document refuses are 400', async (t) => {
  const usersCursor = (await admin(roost, 'GET', '/admin/users?limit=1')).json.next_cursor;
  const refused: Array<[string, RegExp]> = [
    ['type=sign_in', /type must be one of/],
    ['type=admin.action&type=user.banned', /type must be given once/],
    ['user_id=alice', /user_id must match/],
    ['since=yesterday', /since must match format "date-time"/],
    ['since=2026-01-01', /since must match format "date-time"/],
    ['since=2026-01-01T00:00:00', /since must match format "date-time"/],
    ['until=2026-13-01T00:00:00Z', /until must match format "date-time"/],
    ['limit=0', /limit must be >= 1/],
    ['limit=1000', /limit must be <= 200/],
    [`cursor=${usersCursor}`, /cursor is not one this listing gave/],
    ['cursor=eyJ0aW1lIjoxfQ', /cursor is not one this listing gave/],
  ];
  for (const [query, detail] of refused) {
    const answer = await admin(roost, 'GET', `/admin/audit?${query}`);
    t.equal(answer.status, 400, query);
    t.match(answer.json, { code: 'invalid_request', detail }, query);
  }
});

t.test('pending and failed webhook deliveries, without payload or signature', async (t) => {
  // Settled first: the walk's own events are newer than its cursor, so they never join its pages.
  await until('every delivery so far is given up', async () => {
    const statuses = await roost.deps.db.selectFrom('webhook_deliveries').select('status').execute();
    return statuses.length >= 4 && statuses.every((row) => row.status === 'failed');
  }, 10_000);
  const rows = await roost.deps.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'failed').orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  const failed = await walk('/admin/webhooks/deliveries?status=failed', 'deliveries', 2);
  t.same(failed.map((delivery) => delivery.id), rows.map((row) => row.id), 'every failed one, newest first, over pages');
  t.match(failed.at(-1), { status: 'failed', attempts: 1, last_status: 410, event_type: 'sign_in.completed', last_attempt_at: /Z$/ });
  for (const delivery of failed) {
    t.same(Object.keys(delivery).sort(), ['attempts', 'created_at', 'event_type', 'id', 'last_attempt_at', 'last_error', 'last_status', 'next_attempt_at', 'status'], 'no payload, no signature');
  }

  // A receiver that fails: the deliveries stay pending, retried later.
  receiver.answer({ status: 500 });
  const pendingFrom = receiver.received.length;
  const carol = await signedIn(roost, 2);
  await until('a delivery was tried and failed', () => receiver.received.slice(pendingFrom).some((request) => (request.payload as { data?: { user_id?: string } })?.data?.user_id === carol.sub), 10_000);
  await until('its failure is recorded', async () => {
    const pending = (await admin(roost, 'GET', '/admin/webhooks/deliveries?status=pending&limit=200')).json.deliveries as Array<Record<string, unknown>>;
    return pending.some((delivery) => delivery.event_type === 'sign_in.completed' && delivery.last_status === 500);
  });
  const pending = await walk('/admin/webhooks/deliveries?status=pending', 'deliveries', 1);
  t.ok(pending.every((delivery) => delivery.status === 'pending'));
  const retried = pending.find((delivery) => delivery.event_type === 'sign_in.completed');
  // At least one attempt: on a busy machine the backoff's jitter may allow a second before the listing.
  t.match(retried, { attempts: Number, last_status: 500, last_error: /500/ });
  t.ok((retried?.attempts as number) >= 1, 'attempted, and still pending');

  for (const query of ['', '?status=delivered', '?status=pending&status=failed', '?status=failed&limit=0']) {
    const answer = await admin(roost, 'GET', `/admin/webhooks/deliveries${query}`);
    t.equal(answer.status, 400, query || 'no status');
    t.match(answer.json, { code: 'invalid_request' });
  }
});

t.test('every admin action is in the audit log with its key’s id; the keys are nowhere', async (t) => {
  // One request with the second key, so that both keys are in play.
  t.equal((await admin(roost, 'GET', `/admin/users/${alice.sub}`, { key: ADMIN_KEYS[1] })).status, 200);
  const events = await roost.deps.db.selectFrom('audit_events').selectAll().where('type', '=', 'admin.action').execute();
  const actions = new Set(events.map((event) => event.detail.action));
  for (const action of ['users.search', 'users.view', 'audit.list', 'webhooks.deliveries.list']) t.ok(actions.has(action), `${action} is recorded`);
  t.ok(events.every((event) => event.detail.by === 'admin' && event.ip === '127.0.0.1'), 'each says it was an operator, from where');
  const keyIds = new Set(events.map((event) => event.detail.key_id));
  t.same([...keyIds].sort(), ADMIN_KEYS.map(adminKeyId).sort(), 'each event names the key by its id');

  const dump = async (table: 'audit_events' | 'webhook_deliveries') =>
    JSON.stringify((await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(roost.deps.db)).rows);
  const stored = `${await dump('audit_events')}${await dump('webhook_deliveries')}`;
  t.ok(stored.length > 1000, 'there is something to look through');
  for (const key of ADMIN_KEYS) {
    t.notOk(stored.includes(key), 'no key in the audit table or the outbox');
    t.notOk(roost.rawLogs.some((line) => line.includes(key)), 'no key in the logs');
    t.notOk(receiver.received.some((request) => request.body.includes(key) || JSON.stringify(request.headers).includes(key)), 'no key sent to the webhook');
  }
  t.notOk(roost.rawLogs.some((line) => line.includes('audit detail left out')), 'nothing of an admin event was left out');
});
