// Spent refresh tokens are bounded per session (SPENT_TOKENS_KEPT), pruned
// in the statement that rotates, and a token older than those kept is still
// recognised as reuse by its family: over real HTTP on the real Postgres.
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { startRoost } from '../helpers/roost.js';
import { SPENT_TOKENS_KEPT } from '../../src/sessions/queries.js';
import { hashRefreshToken, newRefreshToken, nextRefreshToken, refreshFamily } from '../../src/sessions/refresh-tokens.js';

let clock = Date.now();
const roost = await startRoost(t, { now: () => clock, env: { REFRESH_REUSE_GRACE: '10' } });
const { db } = roost.deps;

t.beforeEach(() => {
  clock = Date.now();
});

async function refresh(refreshToken: string) {
  const response = await fetch(`${roost.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Signs in and refreshes `times` times, a minute apart; every refresh token in order, the first one first. */
async function chain(times: number): Promise<{ sid: string; tokens: string[] }> {
  const answer = fragmentOf((await signIn(new Browser(), roost)).location);
  const sid = decodeJwt(answer.get('access_token') as string).sid as string;
  const tokens = [answer.get('refresh_token') as string];
  for (let i = 0; i < times; i++) {
    clock += 60_000;
    const next = await refresh(tokens.at(-1) as string);
    if (next.status !== 200) throw new Error(`refresh ${i} answered ${next.status}: ${JSON.stringify(next.json)}`);
    tokens.push(next.json.refresh_token as string);
  }
  return { sid, tokens };
}

const spentOf = async (sid: string) => (await db.selectFrom('spent_refresh_tokens').select('hash').where('session_id', '=', sid).execute()).map((row) => row.hash).sort();
const sessionRow = (sid: string) => db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow();

t.test(`a session keeps its last ${SPENT_TOKENS_KEPT} spent refresh tokens, no more`, async (t) => {
  const extra = 7;
  const { sid, tokens } = await chain(SPENT_TOKENS_KEPT + extra);
  const spent = await spentOf(sid);
  t.equal(spent.length, SPENT_TOKENS_KEPT, `${SPENT_TOKENS_KEPT + extra} refreshes leave ${SPENT_TOKENS_KEPT} rows`);
  const newest = tokens.slice(-1 - SPENT_TOKENS_KEPT, -1).map(hashRefreshToken).sort();
  t.same(spent, newest, 'the ones kept are the newest spent');
  t.equal((await sessionRow(sid)).rotations, SPENT_TOKENS_KEPT + extra);
  t.equal((await refresh(tokens.at(-1) as string)).status, 200, 'the live token still rotates');
  t.equal((await spentOf(sid)).length, SPENT_TOKENS_KEPT, 'and the bound holds');
});

t.test('a token older than those kept still ends the session as reuse, found by its family', async (t) => {
  const { sid, tokens } = await chain(SPENT_TOKENS_KEPT + 3);
  const first = tokens[0] as string;
  t.notOk((await spentOf(sid)).includes(hashRefreshToken(first)), 'the first token is no longer kept');
  const reused = await refresh(first);
  t.equal(reused.status, 400);
  t.match(reused.json, { error: 'invalid_grant', detail: /already used; the session has been ended/ });
  const row = await sessionRow(sid);
  t.equal(row.revoked_reason, 'refresh_token_reuse');
  t.equal((await refresh(tokens.at(-1) as string)).status, 400, 'the live token of the family is refused too');
  t.ok(roost.logs.some((line) => line.reuse === 'refresh_token' && line.sessionId === sid));
});

t.test('POST /logout with a token older than those kept still ends its session', async (t) => {
  const { sid, tokens } = await chain(SPENT_TOKENS_KEPT + 2);
  const response = await fetch(`${roost.url}/logout`, { method: 'POST', body: new URLSearchParams({ refresh_token: tokens[0] as string }) });
  t.equal(response.status, 204);
  t.equal((await sessionRow(sid)).revoked_reason, 'logout');
  t.equal((await refresh(tokens.at(-1) as string)).status, 400, 'its live token is refused from then on');
});

t.test('a token of no family and no hash is unknown, and ends nothing', async (t) => {
  const { sid } = await chain(2);
  const answer = await refresh(newRefreshToken());
  t.match(answer.json, { error: 'invalid_grant', detail: /unknown/ });
  t.equal((await sessionRow(sid)).revoked_at, null);
});

t.test('a session opened before families were kept gets one at its next rotation, and is bounded from then on', async (t) => {
  const { sid, tokens } = await chain(0);
  // As the previous version stored it: no family, no generations.
  await db.updateTable('sessions').set({ refresh_family: null }).where('id', '=', sid).execute();
  const before = newRefreshToken();
  await db.insertInto('spent_refresh_tokens').values({ hash: hashRefreshToken(before), session_id: sid, spent_at: new Date(clock - 3600_000), generation: null }).execute();
  let live = tokens[0] as string;
  for (let i = 0; i < SPENT_TOKENS_KEPT + 2; i++) {
    clock += 60_000;
    live = (await refresh(live)).json.refresh_token as string;
  }
  const row = await sessionRow(sid);
  t.equal(row.refresh_family, refreshFamily(tokens[0] as string), 'the family of its live token at the time');
  const spent = await spentOf(sid);
  t.equal(spent.length, SPENT_TOKENS_KEPT + 1, 'the kept ones, and the one spent before, which stays until the session is purged');
  t.ok(spent.includes(hashRefreshToken(before)));
  t.equal((await refresh(tokens[0] as string)).status, 400, 'its first token, no longer kept, is reuse');
  t.equal((await sessionRow(sid)).revoked_reason, 'refresh_token_reuse');
});

t.test('a refresh token forged with another session\'s family but without the chain key is reuse of that family', async (t) => {
  // Only a holder of one of the session's tokens knows its family: presenting
  // any other token of it means a copy of the family is out there.
  const { sid, tokens } = await chain(1);
  const forged = nextRefreshToken(Buffer.alloc(32, 7), tokens[0] as string);
  t.equal((await refresh(forged)).status, 400);
  t.equal((await sessionRow(sid)).revoked_reason, 'refresh_token_reuse');
});
