// A replica whose current signing key it cannot open stops issuing tokens,
// says why at /readyz, publishes what Postgres holds, and signs again by
// itself once the key is fixed. The keys are changed from outside, as a keys
// command run elsewhere changes them, while the replica refreshes on its
// timer (KEY_REFRESH_INTERVAL=1); the test waits by polling.
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import t from 'tap';
import type { Test } from 'tap';
import { runKeysCommand, type KeysContext } from '../../src/keys/key-commands.js';
import { keyPolicy } from '../../src/keys/key-lifecycle.js';
import { insertKey, promoteKey, revokeKey } from '../../src/keys/key-store.js';
import { generateSigningKey } from '../../src/keys/signing-keys.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent } from '../helpers/flow.js';
import { startRoost } from '../helpers/roost.js';

const roost = await startRoost(t, { env: { KEY_REFRESH_INTERVAL: '1' } });
const { db } = roost.deps;
/** An ENCRYPTION_KEY the replica does not have, as on an operator's workstation. */
const otherKey = randomBytes(32);
const replicaKeys = roost.deps.encryptionKeys;
const commands = (encryptionKey: KeysContext['encryptionKey']): KeysContext => ({ db, encryptionKey, policy: keyPolicy(roost.config), alg: 'ES256', now: Date.now });

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;

async function readyz() {
  const response = await fetch(`${roost.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string>; reasons?: Record<string, string> } };
}

async function publishedKids(): Promise<string[]> {
  const body = (await (await fetch(`${roost.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  return body.keys.map((key) => key.kid);
}

async function refresh(refreshToken: string) {
  const response = await fetch(`${roost.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** Polls until `check` holds (the replica refreshes every second); false after 10 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A sign-in in fragment mode: its tokens. */
async function signInTokens(): Promise<{ access: string; refresh: string }> {
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, roost);
  const callback = await browser.get(callbackUrl);
  const fragment = fragmentOf(callback.location);
  return { access: fragment.get('access_token')!, refresh: fragment.get('refresh_token')! };
}

/** What the routes that sign answer while the replica cannot: a 503 that changes nothing. */
async function refusesToSign(t: Test, tokens: { refresh: string }, pending: { browser: Browser; callbackUrl: string }, kid: string) {
  const refused = await refresh(tokens.refresh);
  t.equal(refused.status, 503, 'POST /token');
  t.match(refused.body, { code: 'signing_key_unavailable', status: 503, detail: 'This server cannot issue tokens right now; try again shortly' });
  t.notMatch(JSON.stringify(refused.body), kid, 'what the operator should do is not told to clients');
  const callback = await pending.browser.get(pending.callbackUrl);
  t.equal(callback.status, 503, 'GET /login/callback');
  t.match(callback.body, /"code":"signing_key_unavailable"/);
  t.equal(callback.location, null, 'no tokens handed out');

  const ready = await readyz();
  t.equal(ready.status, 503, '/readyz fails');
  t.match(ready.body, { status: 'unavailable', checks: { postgres: 'ok', redis: 'ok', migrations: 'ok', signing_key: 'unusable' } });
  t.match(ready.body.reasons?.signing_key, new RegExp(`cannot open the current signing key ${kid} \\(sealed with key [\\w-]+, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS\\)`), 'and says why');
  t.ok(
    roost.logs.some((line) => line.level === 50 && String(line.msg).startsWith('this replica stops issuing tokens') && line.kid === kid),
    'the log says so',
  );
}

t.test('the current key revoked and replaced by a key sealed with another ENCRYPTION_KEY', async (t) => {
  const tokens = await signInTokens();
  const revokedKid = kidOf(tokens.access);
  const pending = { browser: new Browser(), callbackUrl: '' };
  pending.callbackUrl = (await consent(pending.browser, roost)).callbackUrl;

  // What a keys command without the replicas' ENCRYPTION_KEY did.
  const result = await revokeKey(db, revokedKid, new Date(), () => generateSigningKey('ES256', otherKey));
  t.equal(result.outcome, 'revoked');
  const badKid = result.outcome === 'revoked' ? result.replacement!.kid : '';

  t.ok(await eventually(async () => (await readyz()).status === 503), 'the replica notices on its next refresh');
  await refusesToSign(t, tokens, pending, badKid);
  t.same(await publishedKids(), [badKid], 'the JWKS publishes the new current key, not the revoked one');
  const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${tokens.access}` } });
  t.equal(me.status, 401, 'tokens of the revoked key are refused');

  // The fix: revoke the bad key with the replicas' ENCRYPTION_KEY, naming the key that sealed it.
  const fixed = await runKeysCommand(commands({ current: replicaKeys.current, previous: [otherKey] }), { name: 'revoke', kid: badKid });
  t.equal(fixed.exitCode, 0, fixed.output);
  const goodKid = /([\w-]{43}), a new key, signs now/.exec(fixed.output)?.[1];
  t.ok(await eventually(async () => (await readyz()).status === 200), 'ready again on a later refresh, without a restart');
  const again = await refresh(tokens.refresh);
  t.equal(again.status, 200, 'the same refresh token works: the refusals rotated nothing');
  t.equal(kidOf(again.body.access_token!), goodKid, 'signed with the new key');
  const callback = await pending.browser.get(pending.callbackUrl);
  t.equal(callback.status, 302, 'the sign-in left waiting finishes: the refusal did not take its flow');
  t.equal(kidOf(fragmentOf(callback.location).get('access_token')!), goodKid);
  t.ok(roost.logs.some((line) => line.msg === 'this replica can sign again' && line.kid === goodKid));
});

t.test('a rotation to a key sealed with another ENCRYPTION_KEY', async (t) => {
  const tokens = await signInTokens();
  const oldKid = kidOf(tokens.access);
  const pending = { browser: new Browser(), callbackUrl: '' };
  pending.callbackUrl = (await consent(pending.browser, roost)).callbackUrl;

  const next = await generateSigningKey('ES256', otherKey);
  t.ok(await insertKey(db, next, 'next', new Date()));
  t.ok(await promoteKey(db, next.kid, oldKid, new Date()));

  t.ok(await eventually(async () => (await readyz()).status === 503), 'the replica notices on its next refresh');
  await refusesToSign(t, tokens, pending, next.kid);
  t.same(await publishedKids(), [next.kid, oldKid], 'the JWKS follows Postgres: the new current key, then the previous one');
  const me = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${tokens.access}` } });
  t.equal(me.status, 200, 'tokens of the previous key still verify');

  // The replicas' ENCRYPTION_KEY opens the previous key, which is proof enough that it is theirs.
  const fixed = await runKeysCommand(commands(replicaKeys), { name: 'revoke', kid: next.kid });
  t.equal(fixed.exitCode, 0, fixed.output);
  t.ok(await eventually(async () => (await refresh(tokens.refresh)).status === 200), 'tokens again');
  t.equal((await readyz()).status, 200);
});
