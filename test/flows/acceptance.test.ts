// The walk a browser app makes, in both modes, over real HTTP on the real
// Postgres and Redis: sign in → /me → refresh several times → logout →
// refresh refused. The app's calls carry its Origin, as fetch() does.
import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { addedTo } from '../helpers/back-at-app.js';
import { Browser } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, APP_URL, startRoost } from '../helpers/roost.js';

const roost = await startRoost(t);

/** What the app's fetch() sends to roost. */
async function api(method: string, path: string, options: { token?: string; form?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { origin: APP_ORIGIN };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(`${roost.url}${path}`, { method, headers, ...(options.form ? { body: new URLSearchParams(options.form).toString() } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function walk(t: Test, first: { access_token: string; refresh_token: string }) {
  const seen: string[] = [first.access_token, first.refresh_token];
  const profile = await api('GET', '/me', { token: first.access_token });
  t.equal(profile.status, 200, '/me with the first access token');
  t.equal(profile.body.screen_name, roost.users[0]!.screen_name);

  let tokens = first;
  for (let i = 1; i <= 4; i += 1) {
    const refreshed = await api('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } });
    t.equal(refreshed.status, 200, `refresh ${i}`);
    tokens = refreshed.body as typeof tokens;
    seen.push(tokens.access_token, tokens.refresh_token);
    t.equal((await api('GET', '/me', { token: tokens.access_token })).status, 200, `/me after refresh ${i}`);
  }

  t.equal((await api('POST', '/logout', { form: { refresh_token: tokens.refresh_token } })).status, 204, 'logout');
  const refused = await api('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } });
  t.equal(refused.status, 400, 'refresh refused after logout');
  t.equal(refused.body.error, 'invalid_grant');
  t.equal((await api('GET', '/me', { token: tokens.access_token })).status, 401, '/me refused after logout');

  const logs = roost.rawLogs.join('\n');
  t.notOk(seen.some((secret) => logs.includes(secret)), 'no token in the logs');
}

t.test('fragment mode', async (t) => {
  const state = randomBytes(16).toString('base64url');
  const callback = await signIn(new Browser(), roost, { returnTo: APP_URL, loginQuery: { state } });
  t.equal(callback.status, 302);
  const answer = addedTo(callback.location, APP_URL);
  t.same(Object.keys(answer ?? {}), ['access_token', 'token_type', 'expires_in', 'refresh_token', 'state'], `the tokens in the fragment of ${APP_URL}`);
  t.equal(answer?.state, state, 'the state comes back');
  await walk(t, { access_token: answer?.access_token as string, refresh_token: answer?.refresh_token as string });
});

t.test('code mode with PKCE', async (t) => {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  // A registered URL with a query of its own: the code and state are added after it.
  const returnTo = `${APP_ORIGIN}/callback?tab=2`;
  const callback = await signIn(new Browser(), roost, { returnTo, loginQuery: { code_challenge: challenge, code_challenge_method: 'S256', state } });
  t.equal(callback.status, 302);
  const answer = addedTo(callback.location, returnTo, 'query');
  t.same(Object.keys(answer ?? {}), ['code', 'state'], `a code added to the query of ${returnTo}: ${callback.location}`);
  t.equal(answer?.state, state, 'the state comes back');
  const code = answer?.code as string;
  const tokens = await api('POST', '/token', { form: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: returnTo } });
  t.equal(tokens.status, 200, 'code redeemed');
  await walk(t, tokens.body as { access_token: string; refresh_token: string });
  t.notOk(roost.rawLogs.join('\n').includes(code), 'no code in the logs');
});
