// A ban made on one replica reaches another on the same Postgres and Redis:
// refreshes there fail at once (every refresh reads the session), and its
// /me refuses the banned user's access token once its session check's cached
// answer runs out (SESSION_CHECK_CACHE_MS).
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SESSION_CHECK_CACHE_MS } from '../../src/sessions/session-check.js';
import { admin, meStatus, refresh, signedIn, startAdminRoost } from '../helpers/admin-roost.js';

const secrets = { ENCRYPTION_KEY: randomBytes(32).toString('hex'), COOKIE_SECRET: randomBytes(32).toString('hex') };
const redisKeyPrefix = `roost-test:${randomBytes(6).toString('hex')}:`;
const one = await startAdminRoost(t, { env: secrets, redisKeyPrefix });
// Behind one name, as replicas are: the same issuer for the tokens, the same callback at X.
const two = await startAdminRoost(t, { env: { ...secrets, PUBLIC_URL: one.config.publicUrl }, redisKeyPrefix, databaseUrl: one.config.databaseUrl as string, providerUrl: one.providerUrl });

t.test('the ban reaches the other replica: refreshes at once, /me within the session check’s cache time', async (t) => {
  t.equal(SESSION_CHECK_CACHE_MS, 5000, 'the time docs/admin.md gives');
  const alice = await signedIn(one, 0);
  const spare = await signedIn(one, 0);
  t.equal(await meStatus(two, alice.access), 200, 'the other replica serves the session (and caches that it is live)');

  const banned = await admin(one, 'POST', `/admin/users/${alice.sub}/ban`, { body: { reason: 'Compromised account' } });
  const bannedAt = Date.now();
  t.equal(banned.status, 200);
  t.equal(await meStatus(one, alice.access), 401, 'the replica that banned refuses at once');
  t.match(await refresh(two, spare.refresh), { status: 400, json: { error: 'invalid_grant' } }, 'a refresh at the other fails at once');

  let refusedAfter: number | undefined;
  while (Date.now() - bannedAt < SESSION_CHECK_CACHE_MS + 2000) {
    if ((await meStatus(two, alice.access)) === 401) {
      refusedAfter = Date.now() - bannedAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(refusedAfter !== undefined && refusedAfter <= SESSION_CHECK_CACHE_MS + 500, `the other replica's /me refuses it ${refusedAfter ?? 'never'} ms after the ban`);

  t.match((await admin(two, 'GET', `/admin/users/${alice.sub}`)).json, { status: 'banned', ban_reason: 'Compromised account' }, 'both read the same ban');

  t.equal((await admin(two, 'POST', `/admin/users/${alice.sub}/unban`)).status, 200, 'either replica lifts it');
  const back = await signedIn(one, 0);
  t.equal(await meStatus(two, back.access), 200);
});
