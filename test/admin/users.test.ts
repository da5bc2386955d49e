// GET /admin/users and GET /admin/users/{id} on a real roost: search by
// handle prefix, X id and email, keyset pages that neither repeat nor skip a
// user (rows made in the same millisecond included), and a user's detail.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { admin, signedIn, startAdminRoost } from '../helpers/admin-roost.js';

const roost = await startAdminRoost(t);
const alice = await signedIn(roost, 0);
const bob = await signedIn(roost, 1);
const carol = await signedIn(roost, 2);

/** Users made here rather than by signing in, at chosen times, as many as a test needs. */
async function insertUsers(handles: readonly string[], createdAt: (index: number) => string) {
  const rows = handles.map((handle, index) => ({
    twitter_id: `9${randomBytes(7).readUIntBE(0, 6)}${index}`,
    screen_name: handle,
    name: `User ${handle}`,
    email: `${handle.toLowerCase()}@example.org`,
    twitter_token_sealed: 'sealed',
    twitter_token_secret_sealed: 'sealed',
    created_at: createdAt(index),
  }));
  return roost.deps.db.insertInto('users').values(rows).returning(['id', 'screen_name']).execute();
}

const handlesOf = (answer: { json: { users: Array<{ screen_name: string }> } }) => answer.json.users.map((user) => user.screen_name);

t.test('search by handle prefix, X id and email', async (t) => {
  await insertUsers(['1240fan', 'bobby_tables', 'bo_b', 'boXb'], (i) => new Date(Date.now() + i).toISOString());
  const cases: Array<[string, string[]]> = [
    ['ali', ['alice']],
    ['ALI', ['alice']],
    ['@Alice', ['alice']],
    ['alice', ['alice']],
    ['alicex', []],
    ['bo_', ['bo_b']],
    ['carol_', ['carol_no_email']],
    ['1240000000000000002', ['bob']],
    ['1240', ['1240fan']],
    ['alice@example.com', ['alice']],
    ['ALICE@Example.Com', ['alice']],
    ['alice@example', []],
    ['example.com', []],
    ['ali%', []],
    ['%', []],
    ["a' or '1'='1", []],
  ];
  for (const [q, expected] of cases) {
    const answer = await admin(roost, 'GET', `/admin/users?q=${encodeURIComponent(q)}`);
    t.equal(answer.status, 200, q);
    t.same(handlesOf(answer).sort(), expected.sort(), `q=${q}`);
  }
  const bobs = await admin(roost, 'GET', '/admin/users?q=bo');
  t.same(handlesOf(bobs), ['boXb', 'bo_b', 'bobby_tables', 'bob'], 'newest first');

  const found = (await admin(roost, 'GET', '/admin/users?q=ali')).json.users[0];
  t.same(found, {
    id: alice.sub,
    twitter_id: roost.users[0]!.id_str,
    screen_name: 'alice',
    name: roost.users[0]!.name,
    picture: found.picture,
    email: 'alice@example.com',
    created_at: found.created_at,
    updated_at: found.updated_at,
    status: 'active',
    banned_at: null,
    ban_reason: null,
  });
  t.match(found.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

t.test('pages walk the whole result once, rows of the same millisecond and the same time included', async (t) => {
  const prefix = `pg${randomBytes(3).toString('hex')}`;
  // 10 at exactly one time, 10 a microsecond apart within one millisecond, 5 a day apart.
  const base = Date.UTC(2026, 0, 1);
  const made = await insertUsers(
    Array.from({ length: 25 }, (_, i) => `${prefix}_${String(i).padStart(2, '0')}`),
    (i) => (i < 10 ? '2026-01-01T00:00:00.000500Z' : i < 20 ? `2026-01-01T00:00:00.000${String(i).padStart(3, '0')}Z` : new Date(base + i * 86400_000).toISOString()),
  );
  const expected = await roost.deps.db
    .selectFrom('users')
    .select('id')
    .where('screen_name', 'like', `${prefix}%`)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  t.equal(expected.length, 25);

  for (const limit of [1, 7, 10, 24, 25, 200]) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const answer = await admin(roost, 'GET', `/admin/users?q=${prefix}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      t.equal(answer.status, 200);
      pages += 1;
      t.ok(answer.json.users.length <= limit);
      seen.push(...answer.json.users.map((user: { id: string }) => user.id));
      cursor = answer.json.next_cursor;
      if (pages > 30) break;
    } while (cursor !== null);
    t.same(seen, expected.map((row) => row.id), `limit ${limit}: every user once, newest first`);
    t.equal(pages, Math.max(1, Math.ceil(25 / limit)), `limit ${limit}: ${pages} pages`);
  }
  t.equal(made.length, 25);
});

t.test('without q, every user; 50 a page unless asked, at most 200', async (t) => {
  await insertUsers(Array.from({ length: 60 }, (_, i) => `bulk${i}`), () => new Date().toISOString());
  const total = Number((await roost.deps.db.selectFrom('users').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  t.ok(total > 60);
  const first = await admin(roost, 'GET', '/admin/users');
  t.equal(first.json.users.length, 50, 'default page size');
  t.type(first.json.next_cursor, 'string');
  const all = await admin(roost, 'GET', '/admin/users?limit=200');
  t.equal(all.json.users.length, Math.min(total, 200));
  t.equal(all.json.next_cursor, null, 'one page holds them all: no cursor');
  const after = await admin(roost, 'GET', `/admin/users?limit=200&cursor=${first.json.next_cursor}`);
  t.same(after.json.users.map((user: { id: string }) => user.id), all.json.users.slice(50).map((user: { id: string }) => user.id), 'the cursor of a 50-page goes on with any page size');
});

t.test('queries the document refuses are 400 invalid_request', async (t) => {
  const auditCursor = (await admin(roost, 'GET', '/admin/audit?limit=1')).json.next_cursor;
  const refused: Array<[string, RegExp]> = [
    ['limit=0', /limit must be >= 1/],
    ['limit=201', /limit must be <= 200/],
    ['limit=-1', /limit must be given once, as a whole number/],
    ['limit=abc', /limit must be given once, as a whole number/],
    ['limit=1.5', /limit must be given once, as a whole number/],
    ['limit=1&limit=2', /limit must be given once, as a whole number/],
    ['q=a&q=b', /q must be given once/],
    [`q=${'a'.repeat(321)}`, /q must NOT have more than 320 characters/],
    ['cursor=', /cursor/],
    ['cursor=not%20base64', /cursor/],
    ['cursor=bm90IGEgY3Vyc29y', /cursor is not one this listing gave/],
    [`cursor=${auditCursor}`, /cursor is not one this listing gave/],
  ];
  for (const [query, detail] of refused) {
    const answer = await admin(roost, 'GET', `/admin/users?${query}`);
    t.equal(answer.status, 400, query);
    t.match(answer.json, { code: 'invalid_request', detail }, query);
  }
});

t.test('a user’s detail: profile, status, sessions live and ended, recent events', async (t) => {
  const second = await signedIn(roost, 0);
  const out = await fetch(`${roost.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${second.access}` } });
  t.equal(out.status, 204);
  const answer = await admin(roost, 'GET', `/admin/users/${alice.sub}`);
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('cache-control'), 'no-store');
  const detail = answer.json;
  t.match(detail, { id: alice.sub, screen_name: 'alice', email: 'alice@example.com', status: 'active', banned_at: null, ban_reason: null });
  const sessions = new Map<string, Record<string, unknown>>(detail.sessions.map((session: { id: string }) => [session.id, session]));
  t.match(sessions.get(alice.sid), { active: true, ended_at: null, end_reason: null, ip: '127.0.0.1' });
  t.match(sessions.get(second.sid), { active: false, ended_at: /Z$/, end_reason: 'logout' });
  t.same(detail.sessions.map((session: { created_at: string }) => session.created_at), [...detail.sessions.map((session: { created_at: string }) => session.created_at)].sort().reverse(), 'newest first');
  t.ok(detail.recent_events.length > 0 && detail.recent_events.length <= 20);
  t.ok(detail.recent_events.every((event: { user_id: string }) => event.user_id === alice.sub), 'only hers');
  t.ok(detail.recent_events.some((event: { type: string }) => event.type === 'sign_in.completed'));
  t.notOk(JSON.stringify(detail).includes(alice.refresh) || JSON.stringify(detail).includes(alice.access), 'no token in it');

  for (let i = 0; i < 25; i += 1) await admin(roost, 'GET', `/admin/users/${bob.sub}`);
  const busy = (await admin(roost, 'GET', `/admin/users/${bob.sub.toUpperCase()}`)).json;
  t.equal(busy.id, bob.sub, 'the id in capitals names the same user');
  t.equal(busy.recent_events.length, 20, 'the 20 most recent events');
  t.equal(busy.recent_events[0].type, 'admin.action', 'the views of the user are among them');

  const views = await roost.deps.db.selectFrom('audit_events').selectAll().where('user_id', '=', carol.sub).where('type', '=', 'admin.action').execute();
  await admin(roost, 'GET', `/admin/users/${carol.sub}`);
  const after = await roost.deps.db.selectFrom('audit_events').selectAll().where('user_id', '=', carol.sub).where('type', '=', 'admin.action').execute();
  t.equal(after.length, views.length + 1, 'a view is audited, against the user viewed');
  t.match(after.at(-1)?.detail, { action: 'users.view', by: 'admin' });
});

t.test('an unknown or malformed id is 404', async (t) => {
  for (const id of ['0b7e6a52-3f1c-4f7e-9d2a-6c1b5e4d3a21', 'not-a-uuid', '1240000000000000001', `${alice.sub}x`, "' or 1=1 --"]) {
    const answer = await admin(roost, 'GET', `/admin/users/${encodeURIComponent(id)}`);
    t.equal(answer.status, 404, id);
    t.match(answer.json, { code: 'not_found' });
  }
});
