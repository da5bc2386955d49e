import t from 'tap';
import { ACCESS_TOKEN_TTL_SECONDS, AUTHORIZATION_CODE_TTL_MS, createOAuth2Store, type AuthorizationCode } from '../../../src/sandbox/oauth2-store.js';

const START = 1_700_000_000_000;
const CODE_FIELDS = {
  clientId: 'client',
  redirectUri: 'http://127.0.0.1:5173/login/callback',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  userId: '1240000000000000001',
  scopes: ['tweet.read', 'users.read'],
} as const;

function fresh(take: ReturnType<ReturnType<typeof createOAuth2Store>['takeCode']>): AuthorizationCode {
  if (take.kind !== 'fresh') throw new Error(`expected a fresh code, got ${take.kind}`);
  return take.entry;
}

t.test('codes: 30 seconds, taken once', async (t) => {
  let time = START;
  const store = createOAuth2Store(() => time);
  t.equal(AUTHORIZATION_CODE_TTL_MS, 30_000);
  const code = store.issueCode(CODE_FIELDS);
  t.match(code, { ...CODE_FIELDS, expiresAt: START + 30_000 });
  t.match(code.code, /^[A-Za-z0-9_-]{32}$/);
  time = START + 30_000 - 1;
  t.equal(fresh(store.takeCode(code.code)), code, 'taken a millisecond before the end');
  t.same(store.takeCode(code.code), { kind: 'replayed' }, 'a second time is a replay');
  time = START + 30_000;
  t.same(store.takeCode(code.code), { kind: 'unknown' }, 'past its lifetime, a replay is just unknown');

  time = START;
  const late = store.issueCode(CODE_FIELDS);
  time = START + 30_000;
  t.same(store.takeCode(late.code), { kind: 'unknown' }, 'expired at 30 seconds, even between sweeps');
  t.same(store.takeCode('never-issued'), { kind: 'unknown' });
  t.not(store.issueCode(CODE_FIELDS).code, store.issueCode(CODE_FIELDS).code);
});

t.test('a replayed code ends the grant it was exchanged for', async (t) => {
  const store = createOAuth2Store(() => START);
  const code = store.issueCode(CODE_FIELDS);
  const tokens = store.exchangeCode(fresh(store.takeCode(code.code)));
  t.equal(store.findAccessToken(tokens.access.token), tokens.access);
  t.same(store.takeCode(code.code), { kind: 'replayed' });
  t.equal(store.findAccessToken(tokens.access.token), undefined);
  t.equal(tokens.access.grant.revoked, true);

  // A code spent by a failed exchange has no grant; its replay still is one.
  const spent = store.issueCode(CODE_FIELDS);
  store.takeCode(spent.code);
  t.same(store.takeCode(spent.code), { kind: 'replayed' });
});

t.test('access tokens last two hours; refresh tokens only with offline.access, each used once', async (t) => {
  let time = START;
  const store = createOAuth2Store(() => time);
  t.equal(ACCESS_TOKEN_TTL_SECONDS, 7200);
  const online = store.exchangeCode(fresh(store.takeCode(store.issueCode(CODE_FIELDS).code)));
  t.equal(online.refresh, undefined);
  t.same(online.access.grant, { clientId: 'client', userId: CODE_FIELDS.userId, scopes: CODE_FIELDS.scopes, revoked: false });
  time = START + 7200 * 1000 - 1;
  t.equal(store.findAccessToken(online.access.token), online.access);
  time = START + 7200 * 1000;
  t.equal(store.findAccessToken(online.access.token), undefined, 'expired at two hours');

  time = START;
  const offline = store.exchangeCode(fresh(store.takeCode(store.issueCode({ ...CODE_FIELDS, scopes: ['users.read', 'offline.access'] }).code)));
  const refresh = offline.refresh;
  if (refresh === undefined) return t.fail('a refresh token with offline.access');
  t.not(refresh.token, offline.access.token);
  t.equal(store.findAccessToken(refresh.token), undefined, 'a refresh token is not an access token');
  t.equal(store.takeRefreshToken(refresh.token), refresh);
  t.equal(store.takeRefreshToken(refresh.token), undefined, 'used once');
  const next = store.issueTokens(refresh.grant);
  t.equal(next.access.grant, refresh.grant, 'the same grant');
  t.not(next.refresh?.token, refresh.token);
});

t.test('revoke: an access token alone, a refresh token with its grant, only by its own client', async (t) => {
  const store = createOAuth2Store(() => START);
  const offlineCode = () => store.issueCode({ ...CODE_FIELDS, scopes: ['users.read', 'offline.access'] });
  const first = store.exchangeCode(fresh(store.takeCode(offlineCode().code)));
  const second = store.issueTokens(first.access.grant);

  store.revoke(first.access.token, 'other-client');
  t.equal(store.findAccessToken(first.access.token), first.access, "another client cannot revoke it");
  store.revoke(first.access.token, 'client');
  t.equal(store.findAccessToken(first.access.token), undefined);
  t.equal(store.findAccessToken(second.access.token), second.access, 'the other tokens of the grant live on');

  store.revoke(second.refresh?.token ?? '', 'other-client');
  t.equal(store.findAccessToken(second.access.token), second.access);
  store.revoke(second.refresh?.token ?? '', 'client');
  t.equal(store.findAccessToken(second.access.token), undefined, 'the whole grant ends');
  t.equal(store.takeRefreshToken(first.refresh?.token ?? ''), undefined, 'its older refresh token too');
  store.revoke('never-issued', 'client');
});

t.test('a sweep forgets what expired or was revoked', async (t) => {
  let time = START;
  const store = createOAuth2Store(() => time);
  for (let i = 0; i < 50; i += 1) store.issueCode(CODE_FIELDS);
  const used = store.issueCode({ ...CODE_FIELDS, scopes: ['users.read', 'offline.access'] });
  const tokens = store.exchangeCode(fresh(store.takeCode(used.code)));
  t.same(store.size(), { codes: 50, usedCodes: 1, accessTokens: 1, refreshTokens: 1 });
  time = START + 30_000 + 10_000;
  t.same(store.size(), { codes: 0, usedCodes: 0, accessTokens: 1, refreshTokens: 1 });
  store.revoke(tokens.refresh?.token ?? '', 'client');
  time += 10_000;
  t.same(store.size(), { codes: 0, usedCodes: 0, accessTokens: 0, refreshTokens: 0 });
});

t.test('memory stays bounded: hard caps drop the oldest codes first', async (t) => {
  const store = createOAuth2Store(() => START);
  const first = store.issueCode(CODE_FIELDS);
  for (let i = 0; i < 10_000; i += 1) store.issueCode(CODE_FIELDS);
  t.equal(store.size().codes, 10_000);
  t.same(store.takeCode(first.code), { kind: 'unknown' }, 'the oldest went first');
});
