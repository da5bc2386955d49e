// Who reaches the admin API: nobody without ADMIN_API_KEYS (every /admin/
// path answers as an unknown one), only a configured key otherwise (401 with
// the admin realm's challenge, the key never repeated), each route limited
// per client address, and a request is refused before its parameters or
// body are looked at.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { contract } from '../helpers/contract.js';
import { startRoost, type Roost } from '../helpers/roost.js';
import { ADMIN_KEYS, startAdminRoost } from '../helpers/admin-roost.js';

const SOME_ID = '0b7e6a52-3f1c-4f7e-9d2a-6c1b5e4d3a21';

async function call(roost: Roost, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const response = await fetch(`${roost.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Every documented admin operation, with its path's ids filled in. */
const adminOperations = contract()
  .operations({ tag: 'admin' })
  .map((operation) => operation.split(' ') as [string, string])
  .map(([method, path]) => [method, path.replace('{id}', SOME_ID)] as const);

t.test('without ADMIN_API_KEYS every admin path answers exactly as an unknown path', async (t) => {
  const roost = await startRoost(t, { env: { ADMIN_API_KEYS: undefined } });
  t.same(roost.config.admin.keys, []);
  t.ok(adminOperations.length >= 8, `the document has the admin operations (${adminOperations.length})`);
  const shape = (answer: Awaited<ReturnType<typeof call>>, path: string) => ({
    status: answer.status,
    contentType: answer.headers.get('content-type'),
    cacheControl: answer.headers.get('cache-control'),
    authenticate: answer.headers.get('www-authenticate'),
    body: answer.text.replace(path, '<path>'),
  });
  for (const [method, path] of adminOperations) {
    const body = method === 'POST' ? '{"reason":"spam"}' : undefined;
    const headers = { authorization: `Bearer ${ADMIN_KEYS[0]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const admin = await call(roost, method, path, headers, body);
    const unknownPath = `/no-such-${randomBytes(4).toString('hex')}`;
    const unknown = await call(roost, method, unknownPath, headers, body);
    t.same(shape(admin, path), shape(unknown, unknownPath), `${method} ${path}`);
    t.equal(admin.status, 404);
    t.match(JSON.parse(admin.text), { code: 'not_found', detail: `No route for ${method} ${path}` });
  }
  t.equal((await call(roost, 'GET', '/admin/')).status, 404);
});

t.test('with keys, a request without a valid one is 401 with the admin challenge, and says nothing of what was sent', async (t) => {
  const roost = await startAdminRoost(t);
  const [key] = ADMIN_KEYS;
  const sameLength = `adm1n-${randomBytes(24).toString('hex')}`;
  t.equal(sameLength.length, key.length);
  const refused: Array<[string, Record<string, string>, boolean]> = [
    ['no Authorization header', {}, false],
    ['an empty one', { authorization: '' }, true],
    ['a wrong key', { authorization: 'Bearer not-the-key' }, true],
    ['a wrong key of the right length', { authorization: `Bearer ${sameLength}` }, true],
    ['the key with a character more', { authorization: `Bearer ${key}x` }, true],
    ['the key less its last character', { authorization: `Bearer ${key.slice(0, -1)}` }, true],
    ['the key in capitals', { authorization: `Bearer ${key.toUpperCase()}` }, true],
    ['the key without the scheme', { authorization: key }, true],
    ['the key as Basic credentials', { authorization: `Basic ${Buffer.from(`admin:${key}`).toString('base64')}` }, true],
    ['both keys at once', { authorization: `Bearer ${ADMIN_KEYS.join(',')}` }, true],
    ['the key twice', { authorization: `Bearer ${key} ${key}` }, true],
    ['a header too long', { authorization: `Bearer ${key}${'x'.repeat(9000)}` }, true],
    ['a user’s access token', { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' }, true],
  ];
  for (const [name, headers, presented] of refused) {
    const answer = await call(roost, 'GET', '/admin/users', headers);
    t.equal(answer.status, 401, name);
    const challenge = answer.headers.get('www-authenticate') ?? '';
    if (presented) t.match(challenge, /^Bearer realm="roost-admin", error="invalid_token", error_description="[^"]+"$/, `${name}: the challenge`);
    else t.equal(challenge, 'Bearer realm="roost-admin"', `${name}: the challenge names no error`);
    t.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    t.equal(answer.headers.get('cache-control'), 'no-store');
    t.match(JSON.parse(answer.text), { status: 401, code: 'invalid_token', type: 'urn:roost:problem:invalid_token' });
    const sent = headers.authorization?.trim().split(/\s+/).at(-1) ?? '';
    if (sent.length >= 8) {
      t.notOk(answer.text.includes(sent) || challenge.includes(sent), `${name}: nothing sent is repeated`);
    }
  }
  for (const secret of [key, sameLength, 'not-the-key']) {
    t.notOk(roost.rawLogs.some((line) => line.includes(secret)), 'no log line holds what was presented');
  }
});

t.test('every configured key works, the scheme in any case; each is named by its own id', async (t) => {
  const roost = await startAdminRoost(t);
  for (const authorization of [`Bearer ${ADMIN_KEYS[0]}`, `Bearer ${ADMIN_KEYS[1]}`, `bearer ${ADMIN_KEYS[0]}`, `BEARER   ${ADMIN_KEYS[1]} `]) {
    t.equal((await call(roost, 'GET', '/admin/users', { authorization })).status, 200, authorization.split(' ')[0] as string);
  }
  const ids = new Set(roost.logs.filter((line) => typeof line.adminKeyId === 'string').map((line) => line.adminKeyId));
  t.equal(ids.size, 2, 'the request lines name the two keys by two ids');
  for (const id of ids) t.match(id, /^[0-9a-f]{12}$/);
});

t.test('the key is checked before the parameters and the body: a refused request learns nothing of them', async (t) => {
  const roost = await startAdminRoost(t);
  const json = { 'content-type': 'application/json' };
  const probes: Array<[string, string, string | undefined, number, Record<string, string>]> = [
    ['GET', '/admin/users/not-a-uuid', undefined, 404, {}],
    ['GET', '/admin/users?limit=5000', undefined, 400, {}],
    ['GET', '/admin/audit?type=nothing', undefined, 400, {}],
    ['POST', `/admin/users/${SOME_ID}/ban`, '{"reason":', 400, json],
    ['POST', `/admin/users/${SOME_ID}/ban`, 'reason=spam', 415, { 'content-type': 'application/x-www-form-urlencoded' }],
    ['POST', `/admin/users/${SOME_ID}/ban`, JSON.stringify({ reason: 'x'.repeat(5000) }), 413, json],
  ];
  const before = await roost.deps.db.selectFrom('audit_events').select('id').execute();
  for (const [method, path, body, withKey, headers] of probes) {
    t.equal((await call(roost, method, path, headers, body)).status, 401, `${method} ${path} without a key`);
    const answered = await call(roost, method, path, { ...headers, authorization: `Bearer ${ADMIN_KEYS[0]}` }, body);
    t.equal(answered.status, withKey, `${method} ${path} with the key`);
  }
  const after = await roost.deps.db.selectFrom('audit_events').select('id').execute();
  t.equal(after.length, before.length, 'a refused request records nothing');
});

t.test('each admin route is limited per client address, refused requests counted too', async (t) => {
  const roost = await startAdminRoost(t, { env: { ADMIN_RATE_LIMIT: '3', ADMIN_RATE_LIMIT_WINDOW: '60' } });
  const authorization = `Bearer ${ADMIN_KEYS[0]}`;
  const statuses: number[] = [];
  statuses.push((await call(roost, 'GET', '/admin/users')).status);
  statuses.push((await call(roost, 'GET', '/admin/users', { authorization: 'Bearer guess' })).status);
  statuses.push((await call(roost, 'GET', '/admin/users', { authorization })).status);
  const limited = await call(roost, 'GET', '/admin/users', { authorization });
  statuses.push(limited.status);
  t.same(statuses, [401, 401, 200, 429], 'the fourth request in the window is refused, with the right key too');
  t.match(JSON.parse(limited.text), { code: 'rate_limited', status: 429 });
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
  t.equal(limited.headers.get('x-ratelimit-limit'), '3');
  t.equal((await call(roost, 'GET', '/admin/audit', { authorization })).status, 200, 'another route counts on its own');
  t.equal((await call(roost, 'GET', '/healthz')).status, 200, 'other routes are not limited');
});

t.test('ADMIN_RATE_LIMIT=0 turns the limit off', async (t) => {
  const roost = await startAdminRoost(t, { env: { ADMIN_RATE_LIMIT: '0' } });
  const statuses = [];
  for (let i = 0; i < 5; i += 1) statuses.push((await call(roost, 'GET', '/admin/users')).status);
  t.same(statuses, [401, 401, 401, 401, 401]);
  t.equal((await call(roost, 'GET', '/admin/users')).headers.get('x-ratelimit-limit'), null);
});
