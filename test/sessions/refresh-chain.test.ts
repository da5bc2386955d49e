// The refresh token chain is keyed with a secret kept in Postgres, not with
// ENCRYPTION_KEY: two replicas in the middle of a rolling ENCRYPTION_KEY
// rotation (one still on the old key, one on the new with the old as
// previous) answer a refresh repeated across them with the same new token.
// Over real HTTP, two instances on one database and one Redis.
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { createTestSchema, startRoost, type Roost } from '../helpers/roost.js';
import { createDatabase, migrateToLatest } from '../../src/store/db.js';
import { isSealedWithCurrentKey } from '../../src/keys/crypto-box.js';
import { loadRefreshChain } from '../../src/sessions/refresh-chain.js';
import { hashRefreshToken, legacyChainKey, legacyNextRefreshToken } from '../../src/sessions/refresh-tokens.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const prefix = `roost-test:${randomBytes(6).toString('hex')}:`;
const grace = { REFRESH_REUSE_GRACE: '10' };
const a = await startRoost(t, { redisKeyPrefix: prefix, env: { ...grace, ENCRYPTION_KEY: keyA.toString('hex') } });
const b = await startRoost(t, {
  databaseUrl: a.config.databaseUrl,
  redisKeyPrefix: prefix,
  env: { ...grace, ENCRYPTION_KEY: keyB.toString('hex'), ENCRYPTION_KEYS_PREVIOUS: keyA.toString('hex') },
});

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

async function refresh(roost: Roost, refreshToken: string): Promise<Answer> {
  const response = await fetch(`${roost.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** The same refresh on both replicas, both requests let go at the same moment. */
async function refreshOnBothAtOnce(refreshToken: string): Promise<[Answer, Answer]> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const both = Promise.all([gate.then(() => refresh(a, refreshToken)), gate.then(() => refresh(b, refreshToken))]);
  open();
  return both;
}

const repeats = (sid: string) =>
  [...a.logs, ...b.logs].filter((line) => line.msg === 'refresh repeated within the grace window: the same new token again' && line.sessionId === sid);
const sessionRow = (sid: string) => a.deps.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow();

t.test('both replicas hold the same chain secret, sealed with the newer ENCRYPTION_KEY', async (t) => {
  t.ok(a.deps.refreshChain.key.equals(b.deps.refreshChain.key));
  const rows = await a.deps.db.selectFrom('sealed_secrets').selectAll().execute();
  t.same(rows.map((row) => row.name), ['refresh_token_chain']);
  t.ok(isSealedWithCurrentKey(keyB, rows[0]?.sealed as string), 'the second replica re-sealed it with its ENCRYPTION_KEY at start');
  t.ok(b.logs.some((line) => line.msg === 'stored secrets re-sealed with the current ENCRYPTION_KEY'));
});

t.test('a refresh repeated at once on the replica with the other ENCRYPTION_KEY gets the same new token', async (t) => {
  const answer = fragmentOf((await signIn(new Browser(), a)).location);
  const sid = decodeJwt(answer.get('access_token') as string).sid as string;
  let token = answer.get('refresh_token') as string;
  const rounds = 8;
  for (let round = 0; round < rounds; round++) {
    const [onA, onB] = await refreshOnBothAtOnce(token);
    t.equal(onA.status, 200, `round ${round}: the replica with ENCRYPTION_KEY=A answers`);
    t.equal(onB.status, 200, `round ${round}: the replica with ENCRYPTION_KEY=B answers`);
    t.equal(onA.json.refresh_token, onB.json.refresh_token, `round ${round}: with the same new refresh token`);
    t.equal(repeats(sid).length, round + 1, `round ${round}: one of the two was answered as a repeat within the grace window`);
    token = onA.json.refresh_token as string;
    for (const [name, roost, access] of [['A', a, onA.json.access_token], ['B', b, onB.json.access_token]] as const) {
      const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${access}` } });
      t.equal(me.status, 200, `round ${round}: the access token from ${name} works`);
    }
  }
  t.same(new Set(repeats(sid).map((line) => line.derivation)), new Set(['current']), 'every repeat derived its token with the chain secret');
  const overlapped = repeats(sid).filter((line) => line.concurrent === true).length;
  t.ok(overlapped > 0, `in ${overlapped} of ${rounds} rounds one replica lost the rotation to the other and was answered by the grace window`);
  t.equal((await sessionRow(sid)).revoked_at, null, 'the session is alive');
  t.equal((await refresh(b, token)).status, 200, 'and its latest token rotates on either replica');
});

t.test('a refresh rotated by a version before the chain secret is still repeated within the grace window', async (t) => {
  const answer = fragmentOf((await signIn(new Browser(), b)).location);
  const sid = decodeJwt(answer.get('access_token') as string).sid as string;
  const parent = answer.get('refresh_token') as string;
  // What a replica of the previous version with ENCRYPTION_KEY=A did a moment ago: rotated `parent`
  // to a child derived from its ENCRYPTION_KEY.
  const child = legacyNextRefreshToken(legacyChainKey(keyA), parent);
  await a.deps.db.updateTable('sessions').set({ refresh_hash: hashRefreshToken(child) }).where('id', '=', sid).execute();
  await a.deps.db.insertInto('spent_refresh_tokens').values({ hash: hashRefreshToken(parent), session_id: sid, spent_at: new Date(), generation: null }).execute();

  const [onA, onB] = await refreshOnBothAtOnce(parent);
  t.equal(onA.status, 200);
  t.equal(onB.status, 200, 'the replica whose ENCRYPTION_KEY is B still knows the child A derived');
  t.equal(onA.json.refresh_token, child, 'the token the previous version handed out');
  t.equal(onB.json.refresh_token, child);
  t.same(repeats(sid).map((line) => line.derivation), ['legacy', 'legacy']);
  t.equal((await sessionRow(sid)).revoked_at, null, 'the session is alive');
  const next = await refresh(a, child);
  t.equal(next.status, 200, 'the child rotates, now with the chain secret');
  t.equal((await sessionRow(sid)).revoked_at, null);
});

t.test('replicas starting together make one chain secret between them', async (t) => {
  const url = await createTestSchema(t);
  const db = await createDatabase({ databaseUrl: url, poolSize: 8, dataDir: '.' });
  t.teardown(() => db.destroy());
  await migrateToLatest(db);
  const keys = { current: keyA, previous: [] };
  const chains = await Promise.all(Array.from({ length: 8 }, () => loadRefreshChain(db, keys)));
  t.equal(new Set(chains.map((chain) => chain.key.toString('hex'))).size, 1, 'every one reads the same secret');
  t.equal((await db.selectFrom('sealed_secrets').selectAll().execute()).length, 1);
  t.equal(chains[0]?.key.length, 32);
  const later = await loadRefreshChain(db, { current: keyB, previous: [keyA] });
  t.ok(later.key.equals(chains[0]?.key as Buffer), 'and a later start with the next ENCRYPTION_KEY too');
  await t.rejects(loadRefreshChain(db, { current: keyB, previous: [] }), /ENCRYPTION_KEYS_PREVIOUS/, 'a start with no key that opens it stops, saying which variable to set');
});
