import t from 'tap';
import { createSandboxStore, REQUEST_TOKEN_TTL_MS } from '../../../src/sandbox/store.js';

const START = 1_700_000_000_000;

t.test('request tokens: live for ten minutes, decided once, forgotten on demand', async (t) => {
  let time = START;
  const store = createSandboxStore(() => time);
  // Ten minutes, found up to the last millisecond and not after.
  const timed = store.issueRequestToken('http://app.test/cb');
  time = START + 10 * 60 * 1000 - 1;
  t.equal(store.findRequestToken(timed.token), timed, 'still there a millisecond before ten minutes');
  time = START + 10 * 60 * 1000 + 1;
  t.equal(store.findRequestToken(timed.token), undefined, 'gone after ten minutes');
  time = START;
  const entry = store.issueRequestToken('http://app.test/cb');
  t.not(entry.token, entry.secret);
  t.equal(store.findRequestToken(entry.token), entry);
  t.equal(store.findUndecidedRequestToken(entry.token), entry);

  const verifier = store.approve(entry, '1240000000000000001');
  t.same(entry.approval, { userId: '1240000000000000001', verifier });
  t.equal(store.findUndecidedRequestToken(entry.token), undefined, 'decided tokens leave the consent page');
  t.equal(store.findRequestToken(entry.token), entry, 'but can still be exchanged');

  const other = store.issueRequestToken('http://app.test/cb');
  store.forgetRequestToken(other);
  t.equal(store.findRequestToken(other.token), undefined);
  t.equal(store.findRequestToken('unknown'), undefined);
});

t.test('an expired request token is refused between sweeps', async (t) => {
  let time = START;
  const store = createSandboxStore(() => time);
  const entry = store.issueRequestToken('http://app.test/cb');
  time = entry.expiresAt - 1;
  t.equal(store.size().requestTokens, 1, 'a sweep just ran and kept it');
  t.equal(store.findRequestToken(entry.token), entry);
  time = entry.expiresAt;
  // The next sweep is seconds away, so the lookup itself must see the expiry.
  t.equal(store.findRequestToken(entry.token), undefined, 'expired at expiresAt');
  t.equal(store.findUndecidedRequestToken(entry.token), undefined);
  t.equal(store.size().requestTokens, 0, 'and dropped');
});

t.test('nonces: refused while their timestamp is in the window, then forgotten', async (t) => {
  let time = START;
  const store = createSandboxStore(() => time);
  t.equal(store.rememberNonce('a', START + 300_000), true);
  t.equal(store.rememberNonce('a', START + 300_000), false, 'seen');
  t.equal(store.rememberNonce('b', START + 300_000), true, 'another nonce');
  time = START + 300_001;
  t.equal(store.size().nonces, 0, 'swept once stale');
  t.equal(store.rememberNonce('a', time + 300_000), true, 'usable again once its old timestamp is out of the window');
});

t.test('memory stays bounded: expired entries are swept', async (t) => {
  let time = START;
  const store = createSandboxStore(() => time);
  for (let i = 0; i < 500; i += 1) {
    store.issueRequestToken('http://app.test/cb');
    store.rememberNonce(`n${i}`, time + 300_000);
  }
  t.same(store.size(), { requestTokens: 500, nonces: 500, accessTokens: 0 });
  time += REQUEST_TOKEN_TTL_MS + 1;
  t.same(store.size(), { requestTokens: 0, nonces: 0, accessTokens: 0 });
});

t.test('memory stays bounded: hard caps drop the oldest entries first', async (t) => {
  const store = createSandboxStore(() => START);
  const first = store.issueRequestToken('http://app.test/cb');
  for (let i = 0; i < 10_000; i += 1) store.issueRequestToken('http://app.test/cb');
  t.equal(store.size().requestTokens, 10_000);
  t.equal(store.findRequestToken(first.token), undefined, 'the oldest went first');
  for (let i = 0; i <= 100_000; i += 1) store.rememberNonce(`n${i}`, START + 300_000);
  t.equal(store.size().nonces, 100_000);
  t.equal(store.rememberNonce('n100000', START + 300_000), false, 'the newest is still remembered');
});

t.test('access tokens: one per user, found by token', async (t) => {
  const store = createSandboxStore(() => START);
  const alice = store.accessTokenFor('1');
  t.equal(store.accessTokenFor('1'), alice);
  const bob = store.accessTokenFor('2');
  t.not(bob.token, alice.token);
  t.match(alice.token, /^1-[A-Za-z0-9_-]{32}$/);
  t.equal(store.findAccessToken(alice.token), alice);
  t.equal(store.findAccessToken('nope'), undefined);
  t.equal(store.size().accessTokens, 2);
});
