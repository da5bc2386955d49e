// The sign-in hook on a real roost (Postgres, Redis, the sandbox X) and a
// real hook server that verifies each call with the npm standardwebhooks
// library: it allows with claims (in every token of the session, refreshes
// and the code mode included), refuses (the app is told why, no session
// opens, the audit log says so), or fails every way a server can (too slow,
// garbage, a 500, claims that touch what roost vouches for or exceed 4 KB):
// then no session opens, unless SIGN_IN_HOOK_FAIL_OPEN lets the sign-in
// through without its claims.
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import pg from 'pg';
import t, { type Test } from 'tap';
import { addedTo, scrape } from '../helpers/back-at-app.js';
import { Browser } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, APP_URL, startRoost, type Roost } from '../helpers/roost.js';
import { json, newWebhookSecret, startWebhookReceiver, type Reply } from '../helpers/webhook-receiver.js';

const SECRET = newWebhookSecret();
const TIMEOUT_MS = 300;
const CODE_RETURN_TO = `${APP_ORIGIN}/cb`;
const CLAIMS = { tenant: 'acme', roles: ['editor', 'viewer'], plan: { name: 'team', seats: 12 }, beta: true };
const UNAVAILABLE = 'Signing in is briefly unavailable; try again shortly';

/** What the sign-ins below handled that no log line may hold. */
const secrets = new Set<string>([SECRET, SECRET.slice('whsec_'.length)]);
const keep = (...values: Array<string | null | undefined>) => {
  for (const value of values) if (value) secrets.add(value);
};

const hook = await startWebhookReceiver(t, SECRET);
keep(hook.credential);
const env = { SIGN_IN_HOOK_URL: hook.url, SIGN_IN_HOOK_TIMEOUT_MS: String(TIMEOUT_MS) };
// Closed by default: a hook that fails stops the sign-in. Its secret is SIGN_IN_HOOK_SECRET.
const closed = await startRoost(t, { env: { ...env, SIGN_IN_HOOK_SECRET: SECRET } });
// Open, over OAuth 2.0, signing with WEBHOOK_SECRET (no SIGN_IN_HOOK_SECRET of its own).
const open = await startRoost(t, { protocol: 'oauth2', env: { ...env, WEBHOOK_SECRET: SECRET, SIGN_IN_HOOK_FAIL_OPEN: 'true' } });

function database(roost: Roost) {
  const pool = new pg.Pool({ connectionString: roost.config.databaseUrl, max: 2 });
  t.teardown(() => pool.end());
  return async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<R>(text, values)).rows;
}
const query = new Map([closed, open].map((roost) => [roost, database(roost)]));

let serial = 0;
/** A person who never signed in to either roost before: the index to pick them at the consent page. */
function newUser(roost: Roost): number {
  serial += 1;
  roost.users.push({
    id_str: `12500000000000${String(serial).padStart(5, '0')}`,
    screen_name: `hooked_${serial}`,
    name: `Hooked ${serial}`,
    email: `hooked${serial}@example.com`,
    email_confirmed: true,
    profile_image_url_https: null,
  });
  return roost.users.length - 1;
}

const verifierOf = new Map([closed, open].map((roost) => [roost, createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`))]));
async function claimsOf(roost: Roost, accessToken: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(accessToken, verifierOf.get(roost)!, { issuer: roost.url, algorithms: ['ES256'], typ: 'at+jwt' });
  return payload;
}

async function postToken(roost: Roost, form: Record<string, string>) {
  const response = await fetch(`${roost.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  const body = (await response.json()) as Record<string, string>;
  keep(body.access_token, body.refresh_token, form.code, form.code_verifier);
  return { status: response.status, body };
}

/** One sign-in of `user` with the hook answering `reply`; what the app got, the hook's calls, and how long the callback took. */
async function signInWith(roost: Roost, user: number, reply: Reply | 'down', options: { code?: boolean; state?: string } = {}) {
  const calls = hook.received.length;
  if (reply === 'down') await hook.down();
  else hook.answer(reply);
  const verifier = randomBytes(32).toString('base64url');
  const loginQuery: Record<string, string> = options.state !== undefined ? { state: options.state } : {};
  if (options.code) Object.assign(loginQuery, { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' });
  const returnTo = options.code ? CODE_RETURN_TO : APP_URL;
  const started = Date.now();
  try {
    const hop = await signIn(new Browser(), roost, { user, returnTo, loginQuery });
    const elapsed = Date.now() - started;
    const answer = addedTo(hop.location, returnTo, options.code ? 'query' : 'fragment');
    if (answer === null) throw new Error(`the callback went elsewhere: ${hop.status} ${hop.location}`);
    keep(answer.access_token, answer.refresh_token, answer.code, verifier);
    return { answer, verifier, calls: hook.received.slice(calls), elapsed };
  } finally {
    if (reply === 'down') await hook.up();
    hook.answer({ status: 500 });
  }
}

async function userIdOf(roost: Roost, user: number): Promise<string> {
  const [row] = await query.get(roost)!<{ id: string }>('select id from users where twitter_id = $1', [roost.users[user]?.id_str]);
  if (!row) throw new Error('the user was not stored');
  return row.id;
}

const sessionsOf = async (roost: Roost, userId: string) => (await query.get(roost)!<{ claims: unknown }>('select claims from sessions where user_id = $1', [userId]));
const eventsOf = async (roost: Roost, userId: string | null, type: string) =>
  query.get(roost)!<{ user_id: string | null; session_id: string | null; outcome: string; detail: Record<string, unknown> }>(
    'select user_id, session_id, outcome, detail from audit_events where type = $1 and user_id is not distinct from $2 order by occurred_at, id',
    [type, userId],
  );

/** The hook's one call for a sign-in: signed with the secret, and what it said. */
function theCall(t: Test, calls: ReturnType<typeof hook.received.slice>) {
  t.equal(calls.length, 1, 'the hook was asked once');
  const [call] = calls;
  t.ok(call?.verified, 'the call is signed with the secret, at the time it was made (standardwebhooks accepts it)');
  return call;
}

t.test('allowed with claims: in the access token, after a refresh, and in the code mode after POST /token', async (t) => {
  const user = newUser(closed);
  const first = await signInWith(closed, user, json(200, { allow: true, claims: CLAIMS }));
  t.ok(first.answer.access_token, 'signed in');
  const payload = await claimsOf(closed, first.answer.access_token as string);
  const call = theCall(t, first.calls);
  const person = closed.users[user]!;
  t.same(
    call?.payload,
    {
      user: { id: payload.sub, twitter_id: person.id_str, screen_name: person.screen_name, name: person.name, picture: null, email: person.email },
      is_new_user: true,
      protocol: 'oauth1',
    },
    'it is told who signs in (user.id is the sub), that it is their first time, and over which protocol',
  );
  t.equal(call?.method, 'POST');
  t.equal(call?.headers['content-type'], 'application/json');
  t.ok(Math.abs((call?.timestamp ?? 0) - Date.now() / 1000) < 5, 'webhook-timestamp is now');
  t.match(payload, { sub: payload.sub, screen_name: person.screen_name }, 'what roost vouches for is unchanged');
  t.match(payload, CLAIMS, "the hook's claims are in the access token");
  t.same((await sessionsOf(closed, payload.sub as string)).map((row) => row.claims), [CLAIMS], 'and stored with the session');

  const asked = hook.received.length;
  const refreshed = await postToken(closed, { grant_type: 'refresh_token', refresh_token: first.answer.refresh_token as string });
  t.equal(refreshed.status, 200);
  t.match(await claimsOf(closed, refreshed.body.access_token as string), CLAIMS, 'still there after a refresh');
  t.equal(hook.received.length, asked, 'a refresh does not ask the hook');

  // The same person again, in the code mode, with other claims.
  const again = await signInWith(closed, user, json(200, { allow: true, claims: { tenant: 'globex' } }), { code: true });
  const second = theCall(t, again.calls);
  t.match(second?.payload, { user: { id: payload.sub }, is_new_user: false }, 'is_new_user is false the next time');
  t.not(second?.id, call?.id, 'each call has its own webhook-id');
  t.ok(again.answer.code, 'a code, not tokens, at the callback');
  t.same(Object.keys(again.answer), ['code']);
  const redeemed = await postToken(closed, { grant_type: 'authorization_code', code: again.answer.code as string, code_verifier: again.verifier, redirect_uri: CODE_RETURN_TO });
  t.equal(redeemed.status, 200);
  const codeClaims = await claimsOf(closed, redeemed.body.access_token as string);
  t.equal(codeClaims.sub, payload.sub);
  t.match(codeClaims, { tenant: 'globex' }, 'the claims of this sign-in are in the token POST /token issues');
  const codeRefreshed = await postToken(closed, { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token as string });
  t.match(await claimsOf(closed, codeRefreshed.body.access_token as string), { tenant: 'globex' }, 'and after its refresh');

  t.same(
    (await eventsOf(closed, payload.sub as string, 'sign_in.completed')).map(({ outcome, detail }) => ({ outcome, detail })),
    [
      { outcome: 'success', detail: { protocol: 'oauth1', mode: 'fragment', new_user: true } },
      { outcome: 'success', detail: { protocol: 'oauth1', mode: 'code', new_user: false } },
    ],
  );
});

t.test('claims of exactly 4 KB are allowed', async (t) => {
  const user = newUser(closed);
  // {"blob":"…"} serialized: 11 bytes around the value.
  const claims = { blob: 'x'.repeat(4096 - 11) };
  t.equal(Buffer.byteLength(JSON.stringify(claims)), 4096);
  const { answer } = await signInWith(closed, user, json(200, { allow: true, claims }));
  t.ok(answer.access_token, 'signed in');
  t.match(await claimsOf(closed, answer.access_token as string), claims, 'with them in the token');
});

t.test('refused: the app is told why, with its state; no session; sign_in.denied in the audit log', async (t) => {
  const value = await scrape(closed.url);
  for (const mode of ['fragment', 'code'] as const) {
    const user = newUser(closed);
    const { answer, calls } = await signInWith(closed, user, json(200, { allow: false, reason: 'Your organisation\u0000 has not\nenabled\u202e this app' }), { code: mode === 'code', state: 's-1' });
    theCall(t, calls);
    t.same(answer, { error: 'access_denied', error_description: 'Your organisation has not enabled this app', state: 's-1' }, `${mode}: access_denied with the reason, made printable; nothing issued`);
    const userId = await userIdOf(closed, user);
    t.same(await sessionsOf(closed, userId), [], 'no session');
    t.same(await eventsOf(closed, userId, 'sign_in.denied'), [{ user_id: userId, session_id: null, outcome: 'failure', detail: { reason: 'hook_refused' } }], 'sign_in.denied, the hook named');
    t.same(await eventsOf(closed, userId, 'sign_in.completed'), []);
  }
  const user = newUser(closed);
  const long = await signInWith(closed, user, json(200, { allow: false, reason: 'n'.repeat(500) }));
  t.equal(long.answer.error_description, `${'n'.repeat(199)}…`, 'a long reason is cut to 200 characters');
  const quiet = await signInWith(closed, newUser(closed), json(200, { allow: false }));
  t.equal(quiet.answer.error_description, 'Sign-in was refused', 'no reason: a plain one');
  t.equal((await scrape(closed.url))('roost_sign_in_hook_total', { outcome: 'refused' }) - value('roost_sign_in_hook_total', { outcome: 'refused' }), 4, 'counted as refused');

  const before = hook.received.length;
  const cancelled = await signIn(new Browser(), closed, { user: newUser(closed), action: 'cancel' });
  t.match(cancelled.location, `${APP_URL}#error=access_denied`);
  t.equal(hook.received.length, before, 'a sign-in cancelled at X never reaches the hook');
});

/** Every string in a log line, however deep. */
const textsOf = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : typeof value === 'object' && value !== null ? Object.values(value).flatMap(textsOf) : [];

/** The ways a hook fails; each is a failed sign-in, never a guess. */
const MARKER = randomBytes(8).toString('hex');
const FAILURES: Array<{ readonly name: string; readonly reply: Reply | 'down'; readonly problem: RegExp }> = [
  { name: 'no answer within SIGN_IN_HOOK_TIMEOUT_MS', reply: 'hang', problem: new RegExp(`no answer within ${TIMEOUT_MS} ms`) },
  { name: 'not JSON', reply: { status: 200, body: `<html>${MARKER}</html>`, contentType: 'text/html' }, problem: /not JSON/ },
  { name: 'a 500', reply: json(500, { allow: true, claims: { tenant: MARKER } }), problem: /answered 500/ },
  { name: 'a redirect', reply: { status: 302, body: '' }, problem: /answered 302/ },
  { name: 'a 204', reply: { status: 204 }, problem: /answered 204/ },
  { name: 'allow that is not a boolean', reply: json(200, { allow: 'yes', claims: { tenant: MARKER } }), problem: /boolean "allow"/ },
  { name: 'claims that are not an object', reply: json(200, { allow: true, claims: [MARKER] }), problem: /not a JSON object/ },
  { name: 'claims over 4 KB', reply: json(200, { allow: true, claims: { blob: MARKER.repeat(260) } }), problem: /more than 4096/ },
  { name: 'a member besides allow and claims', reply: json(200, { allow: true, claims: {}, extra: MARKER }), problem: /other than "allow" and "claims"/ },
  ...['sub', 'iss', 'aud', 'exp', 'email', 'sid', 'scope', 'twitter_id', 'screen_name', 'nonce'].map((name) => ({
    name: `a claim roost owns: ${name}`,
    reply: json(200, { allow: true, claims: { tenant: 'acme', [name]: MARKER } }),
    problem: new RegExp(`claims roost owns: "${name}"`),
  })),
  { name: 'a claim named __proto__', reply: { status: 200, body: `{"allow":true,"claims":{"__proto__":{"admin":"${MARKER}"}}}` }, problem: /claims roost owns: "__proto__"/ },
  { name: 'the hook is down', reply: 'down', problem: /could not be reached/ },
];

t.test('a hook that fails: temporarily_unavailable, no session, sign_in.failed', async (t) => {
  const value = await scrape(closed.url);
  for (const failure of FAILURES) {
    const user = newUser(closed);
    const { answer, calls, elapsed } = await signInWith(closed, user, failure.reply, { state: 'st' });
    t.same(answer, { error: 'temporarily_unavailable', error_description: UNAVAILABLE, state: 'st' }, `${failure.name}: the app may try again`);
    if (failure.reply !== 'down') theCall(t, calls);
    if (failure.reply === 'hang') {
      const [call] = calls;
      const waited = (call?.abandonedAt ?? Number.POSITIVE_INFINITY) - (call?.at ?? 0);
      // Well before the default of 2000 ms: the configured timeout is the one applied.
      t.ok(waited >= TIMEOUT_MS - 50 && waited < TIMEOUT_MS + 1000, `roost gave up on the hook after SIGN_IN_HOOK_TIMEOUT_MS and closed the call (${waited} ms)`);
      t.ok(elapsed >= TIMEOUT_MS, 'the callback waited for it');
    }
    const userId = await userIdOf(closed, user);
    t.same(await sessionsOf(closed, userId), [], 'no session');
    t.same(await eventsOf(closed, userId, 'sign_in.completed'), []);
    const logged = closed.logs.filter((line) => line.code === 'sign_in_hook_failed');
    t.ok(
      logged.some((line) => textsOf(line).some((text) => failure.problem.test(text))),
      `the log says what went wrong (${failure.problem})`,
    );
  }
  const failed = await query.get(closed)!<{ n: number }>("select count(*)::int as n from audit_events where type = 'sign_in.failed' and detail->>'reason' = 'sign_in_hook_failed'");
  t.equal(failed[0]?.n, FAILURES.length, 'each is a sign_in.failed in the audit log, with the reason');
  const after = await scrape(closed.url);
  t.equal(after('roost_sign_in_hook_total', { outcome: 'failed_closed' }) - value('roost_sign_in_hook_total', { outcome: 'failed_closed' }), FAILURES.length, 'counted as failed_closed');
  t.notOk(closed.rawLogs.some((line) => line.includes(MARKER)), "the hook's answer itself is never logged");
  t.same(hook.refused(), [], 'every call the hook got was signed');
});

t.test('SIGN_IN_HOOK_FAIL_OPEN=true: a failing hook lets the sign-in through without claims; a refusal still refuses', async (t) => {
  const value = await scrape(open.url);
  const failing: Array<Reply | 'down'> = [json(500, { allow: true, claims: { tenant: 'acme' } }), 'hang', json(200, { allow: true, claims: { tenant: 'acme', sub: 'someone-else' } }), 'down'];
  for (const reply of failing) {
    const user = newUser(open);
    const { answer, calls } = await signInWith(open, user, reply);
    t.ok(answer.access_token, `${typeof reply === 'string' ? reply : reply.status}: signed in`);
    const payload = await claimsOf(open, answer.access_token as string);
    t.equal(payload.sub, await userIdOf(open, user), 'as themselves');
    t.notOk('tenant' in payload, 'without any claim of the failed answer');
    if (reply !== 'down') t.match(theCall(t, calls)?.payload, { is_new_user: true, protocol: 'oauth2' }, 'signed with WEBHOOK_SECRET when the hook has no secret of its own');
    t.equal((await sessionsOf(open, payload.sub as string)).length, 1, 'one session');
  }
  t.equal(open.logs.filter((line) => line.msg === 'the sign-in hook failed; SIGN_IN_HOOK_FAIL_OPEN let the sign-in through').length, failing.length, 'each logged');
  const after = await scrape(open.url);
  const delta = (outcome: string) => after('roost_sign_in_hook_total', { outcome }) - value('roost_sign_in_hook_total', { outcome });
  t.equal(delta('failed_open'), failing.length, 'counted as failed_open');
  t.equal(delta('allowed'), 0, 'and not as allowed');

  const refused = await signInWith(open, newUser(open), json(200, { allow: false, reason: 'Not on the list' }));
  t.same(refused.answer, { error: 'access_denied', error_description: 'Not on the list' }, 'fail-open is for failures only: a refusal refuses');

  const allowed = await signInWith(open, newUser(open), json(200, { allow: true, claims: CLAIMS }));
  t.match(await claimsOf(open, allowed.answer.access_token as string), CLAIMS, 'a working hook still adds its claims');
});

t.test("nothing secret in either roost's log", async (t) => {
  t.ok(secrets.size > 30, `searched for ${secrets.size} secrets`);
  for (const roost of [closed, open]) {
    const text = roost.rawLogs.join('\n');
    t.same([...secrets].filter((secret) => text.includes(secret)).map((secret) => `${secret.slice(0, 6)}…`), [], roost === closed ? 'fail-closed roost' : 'fail-open roost');
  }
});
