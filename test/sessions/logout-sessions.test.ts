// POST /logout, GET /sessions and DELETE /sessions/{id} over real HTTP on
// the real Postgres and Redis, including other users' sessions.
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const roost = await startRoost(t);
const PROBLEM = 'application/problem+json; charset=utf-8';

interface Tokens {
  access_token: string;
  refresh_token: string;
  sid: string;
}

async function signedIn(user = 0, userAgent = 'node'): Promise<Tokens> {
  const browser = new Browser();
  const { consent } = await import('../helpers/flow.js');
  const { callbackUrl } = await consent(browser, roost, { user });
  const answer = fragmentOf((await browser.get(callbackUrl, { 'user-agent': userAgent })).location);
  const access = answer.get('access_token') as string;
  return { access_token: access, refresh_token: answer.get('refresh_token') as string, sid: decodeJwt(access).sid as string };
}

async function call(method: string, path: string, options: { token?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${roost.url}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const refresh = (refreshToken: string) => call('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: refreshToken } });
const me = (token: string) => call('GET', '/me', { token });

t.test('logout with the refresh token ends the session', async (t) => {
  const tokens = await signedIn();
  const out = await call('POST', '/logout', { form: { refresh_token: tokens.refresh_token } });
  t.equal(out.status, 204);
  t.equal(out.headers.get('cache-control'), 'no-store');
  t.equal((await refresh(tokens.refresh_token)).status, 400, 'refresh refused');
  t.equal((await me(tokens.access_token)).status, 401, '/me refused');
  t.equal((await call('POST', '/logout', { form: { refresh_token: tokens.refresh_token } })).status, 204, 'twice is fine');
});

t.test('logout with the bearer access token ends the session', async (t) => {
  const tokens = await signedIn();
  const out = await call('POST', '/logout', { token: tokens.access_token });
  t.equal(out.status, 204);
  const refused = await refresh(tokens.refresh_token);
  t.equal(refused.status, 400);
  t.match(refused.json(), { error: 'invalid_grant', detail: /ended/ });
  t.equal((await call('POST', '/logout', { token: tokens.access_token })).status, 204, 'the token of an ended session may sign out again');
});

t.test('logout from a browser navigation goes back to an allowed return_to', async (t) => {
  const tokens = await signedIn();
  const out = await call('POST', '/logout', { form: { refresh_token: tokens.refresh_token, return_to: `${APP_ORIGIN}/bye?x=1` } });
  t.equal(out.status, 303);
  t.equal(out.headers.get('location'), `${APP_ORIGIN}/bye?x=1`);
  t.equal((await refresh(tokens.refresh_token)).status, 400);
});

t.test('logout refuses bad input and then ends nothing', async (t) => {
  const tokens = await signedIn();
  const cases: Array<[string, Parameters<typeof call>[2], number, string]> = [
    ['no token at all', {}, 400, 'invalid_request'],
    ['an empty form', { form: {} }, 400, 'invalid_request'],
    ['a foreign return_to', { form: { refresh_token: tokens.refresh_token, return_to: 'https://evil.example/' } }, 400, 'return_to_not_allowed'],
    ['a repeated parameter', { json: { refresh_token: [tokens.refresh_token, tokens.refresh_token] } }, 400, 'invalid_request'],
    ['a JSON array', { json: [tokens.refresh_token] }, 400, 'invalid_request'],
    ['a bad bearer token', { token: 'not-a-jwt', form: { refresh_token: tokens.refresh_token } }, 401, 'invalid_token'],
    ['another scheme', { headers: { authorization: 'Basic abc' } }, 401, 'invalid_token'],
    ['an oversized body', { form: { refresh_token: 'a'.repeat(5000) } }, 413, 'payload_too_large'],
  ];
  for (const [name, options, status, code] of cases) {
    const out = await call('POST', '/logout', options);
    t.equal(out.status, status, name);
    t.equal(out.headers.get('content-type'), PROBLEM, name);
    t.match(out.json(), { code }, name);
  }
  t.equal((await refresh(tokens.refresh_token)).status, 200, 'the session survived every refused logout');
});

t.test('a form a browser posts to /logout gets a page for an error, never raw JSON', async (t) => {
  const tokens = await signedIn();
  const browserAccept = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const cases: Array<[string, Parameters<typeof call>[2], number, string]> = [
    ['a foreign return_to', { form: { refresh_token: tokens.refresh_token, return_to: 'https://evil.example/' }, headers: browserAccept }, 400, 'return_to_not_allowed'],
    ['no token at all', { form: { return_to: `${APP_ORIGIN}/bye?x=1` }, headers: browserAccept }, 400, 'invalid_request'],
    ['an oversized body', { form: { refresh_token: 'a'.repeat(5000) }, headers: browserAccept }, 413, 'payload_too_large'],
  ];
  for (const [name, options, status, code] of cases) {
    const out = await call('POST', '/logout', options);
    t.equal(out.status, status, name);
    t.equal(out.headers.get('content-type'), 'text/html; charset=utf-8', name);
    t.match(out.text, `<code>${code}</code>`, name);
    t.equal(out.headers.get('location'), null, name);
  }
  t.equal((await refresh(tokens.refresh_token)).status, 200, 'and nothing ended');
});

t.test('an unknown or malformed refresh token signs nothing out and says nothing', async (t) => {
  for (const token of ['A'.repeat(43), 'short']) t.equal((await call('POST', '/logout', { form: { refresh_token: token } })).status, 204);
});

t.test('GET /sessions lists the caller own live sessions, marking the current one', async (t) => {
  const laptop = await signedIn(1, 'Laptop/1.0');
  const phone = await signedIn(1, 'Phone/2.0');
  const ended = await signedIn(1, 'Old/0.1');
  await call('POST', '/logout', { token: ended.access_token });
  const other = await signedIn(2);

  const listed = await call('GET', '/sessions', { token: laptop.access_token });
  t.equal(listed.status, 200);
  t.equal(listed.headers.get('cache-control'), 'no-store');
  const sessions = listed.json().sessions as Array<Record<string, unknown>>;
  t.same(sessions.map((s) => s.id).sort(), [laptop.sid, phone.sid].sort(), 'own live sessions only');
  const current = sessions.find((s) => s.id === laptop.sid)!;
  t.match(current, { current: true, user_agent: 'Laptop/1.0', ip: '127.0.0.1', created_at: String, last_used_at: String, expires_at: String, idle_expires_at: String });
  t.equal(sessions.find((s) => s.id === phone.sid)!.current, false);
  t.notOk(JSON.stringify(sessions).includes(laptop.refresh_token), 'no token in the listing');

  const theirs = await call('GET', '/sessions', { token: other.access_token });
  t.same((theirs.json().sessions as Array<{ id: string }>).map((s) => s.id), [other.sid]);
});

t.test('DELETE /sessions/{id} ends one own session and never another user', async (t) => {
  const mine = await signedIn(0);
  const myOther = await signedIn(0);
  const theirs = await signedIn(2);

  const foreign = await call('DELETE', `/sessions/${theirs.sid}`, { token: mine.access_token });
  t.equal(foreign.status, 404, 'another user session: as if it did not exist');
  t.equal(foreign.headers.get('content-type'), PROBLEM);
  t.match(foreign.json(), { code: 'not_found' });
  t.equal((await refresh(theirs.refresh_token)).status, 200, 'their session is untouched');

  const unknown = await call('DELETE', '/sessions/00000000-0000-4000-8000-000000000000', { token: mine.access_token });
  t.equal(unknown.status, 404);
  t.same(unknown.json().detail, foreign.json().detail, 'the same answer as for a foreign id');
  t.equal((await call('DELETE', '/sessions/not-a-uuid', { token: mine.access_token })).status, 404);

  const ended = await call('DELETE', `/sessions/${myOther.sid.toUpperCase()}`, { token: mine.access_token });
  t.equal(ended.status, 204);
  t.equal((await refresh(myOther.refresh_token)).status, 400, 'its refresh token is refused');
  t.equal((await me(myOther.access_token)).status, 401, 'its access token is refused at once');
  t.equal((await me(mine.access_token)).status, 200, 'the caller session goes on');
});

t.test('the session routes want a live bearer token', async (t) => {
  const tokens = await signedIn();
  await call('POST', '/logout', { token: tokens.access_token });
  for (const [method, path] of [['GET', '/sessions'], ['DELETE', `/sessions/${tokens.sid}`]] as const) {
    for (const [name, token] of [['no token', undefined], ['garbage', 'x.y.z'], ['an ended session', tokens.access_token]] as const) {
      const out = await call(method, path, token ? { token } : {});
      t.equal(out.status, 401, `${method} ${path} with ${name}`);
      t.match(out.headers.get('www-authenticate'), /^Bearer realm="roost", error="invalid_token"/);
      t.match(out.json(), { code: 'invalid_token' });
    }
  }
});
