// Banning and unbanning over real HTTP, with sandbox sign-ins: a ban ends
// every live session at once (refresh invalid_grant, /me 401), refuses the
// next sign-in at the app, survives it, and is audited with its sessions in
// one transaction; an unban lets the user sign in again. Then deleting a
// user and ending one session.
import t from 'tap';
import { adminKeyId } from '../../src/admin/admin-keys.js';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { ADMIN_KEYS, admin, meStatus, refresh, signedIn, startAdminRoost } from '../helpers/admin-roost.js';

const roost = await startAdminRoost(t);
const keyId = adminKeyId(ADMIN_KEYS[0]);
/** The audit detail keeps `key_id` only once its cleaner knows the name is no secret. */

const events = (type: string, userId: string) =>
  roost.deps.db.selectFrom('audit_events').selectAll().where('type', '=', type).where('user_id', '=', userId).orderBy('occurred_at').orderBy('id').execute();

t.test('a ban ends every live session at once, refuses the next sign-in and survives it; an unban lets the user in again', async (t) => {
  const first = await signedIn(roost, 0);
  const second = await signedIn(roost, 0);
  const signedOut = await signedIn(roost, 0);
  await fetch(`${roost.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${signedOut.access}` } });
  const bob = await signedIn(roost, 1);
  t.equal(await meStatus(roost, first.access), 200, 'signed in before');

  const banned = await admin(roost, 'POST', `/admin/users/${first.sub}/ban`, { body: { reason: 'Spam reported by several users' } });
  t.equal(banned.status, 200);
  t.equal(banned.headers.get('cache-control'), 'no-store');
  t.match(banned.json, { id: first.sub, status: 'banned', ban_reason: 'Spam reported by several users', sessions_ended: 2 });
  const bannedAt = banned.json.banned_at;
  t.match(bannedAt, /Z$/);

  for (const tokens of [first, second]) {
    t.equal(await meStatus(roost, tokens.access), 401, '/me refuses the session at once');
    t.match(await refresh(roost, tokens.refresh), { status: 400, json: { error: 'invalid_grant' } }, 'its refresh token is refused');
  }
  t.equal(await meStatus(roost, bob.access), 200, 'other users are untouched');
  const rows = await roost.deps.db.selectFrom('sessions').select(['id', 'revoked_reason']).where('user_id', '=', first.sub).execute();
  t.same(new Map(rows.map((row) => [row.id, row.revoked_reason])), new Map([[first.sid, 'ban'], [second.sid, 'ban'], [signedOut.sid, 'logout']]), 'an ended session keeps its own reason');

  const [ban] = await events('user.banned', first.sub);
  t.match(ban, { user_id: first.sub, ip: '127.0.0.1', outcome: 'success', detail: { by: 'admin', reason: 'Spam reported by several users' } });
  t.equal(ban?.detail.key_id, keyId);
  const ended = (await events('session.ended', first.sub)).filter((event) => event.detail.reason === 'ban');
  t.same(ended.map((event) => event.session_id).sort(), [first.sid, second.sid].sort(), 'a session.ended per session ended');
  t.ok(ended.every((event) => event.detail.by === 'admin'));

  const detail = (await admin(roost, 'GET', `/admin/users/${first.sub}`)).json;
  t.match(detail, { status: 'banned', banned_at: bannedAt, ban_reason: 'Spam reported by several users' });
  t.match(detail.sessions.find((session: { id: string }) => session.id === first.sid), { active: false, end_reason: 'ban' });

  // The next sign-in: X vouches for the user, roost sends them back to the app refused.
  const attempt = await signIn(new Browser(), roost, { user: 0, loginQuery: { state: 'st-1' } });
  t.equal(attempt.status, 302);
  const answer = fragmentOf(attempt.location);
  t.equal(answer.get('error'), 'access_denied', 'the sign-in goes back to the app refused');
  t.match(answer.get('error_description'), /suspended/i, 'saying the account is suspended');
  t.equal(answer.get('state'), 'st-1');
  t.notOk(answer.has('access_token'), 'with no token');
  const after = (await admin(roost, 'GET', `/admin/users/${first.sub}`)).json;
  t.match(after, { status: 'banned', banned_at: bannedAt, ban_reason: 'Spam reported by several users' }, 'the ban survives the sign-in');
  t.notOk(after.sessions.some((session: { active: boolean }) => session.active), 'and no session opened');

  // Banning again replaces the reason and keeps the time.
  const again = await admin(roost, 'POST', `/admin/users/${first.sub}/ban`, { body: { reason: 'Appeal refused' } });
  t.equal(again.status, 200);
  t.match(again.json, { status: 'banned', banned_at: bannedAt, ban_reason: 'Appeal refused', sessions_ended: 0 });
  t.equal((await events('user.banned', first.sub)).length, 2, 'each ban is recorded');

  const unbanned = await admin(roost, 'POST', `/admin/users/${first.sub}/unban`);
  t.equal(unbanned.status, 200);
  t.match(unbanned.json, { id: first.sub, status: 'active', banned_at: null, ban_reason: null });
  const [lift] = await events('user.unbanned', first.sub);
  t.match(lift, { detail: { by: 'admin' } });
  t.equal(lift?.detail.key_id, keyId);
  t.match(await refresh(roost, first.refresh), { status: 400, json: { error: 'invalid_grant' } }, 'the sessions the ban ended stay ended');
  const back = await signedIn(roost, 0);
  t.equal(back.sub, first.sub, 'the same account signs in again');
  t.equal(await meStatus(roost, back.access), 200);
  t.equal((await refresh(roost, back.refresh)).status, 200);

  // Unbanning an active user changes nothing, and says so in the log.
  const twice = await admin(roost, 'POST', `/admin/users/${first.sub}/unban`);
  t.match(twice, { status: 200, json: { status: 'active' } });
  t.equal((await events('user.unbanned', first.sub)).length, 1, 'no second user.unbanned');
  t.match((await events('admin.action', first.sub)).at(-1), { detail: { action: 'users.unban', result: 'not_banned' } });
});

t.test('a ban reason is 1 to 500 printable characters in a JSON body; anything else ends nothing', async (t) => {
  const carol = await signedIn(roost, 2);
  const ban = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${roost.url}/admin/users/${carol.sub}/ban`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEYS[1]}`, ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    }).then(async (response) => ({ status: response.status, json: (await response.json()) as Record<string, unknown> }));
  const refused: Array<[string, unknown, number]> = [
    ['no reason', {}, 400],
    ['an empty reason', { reason: '' }, 400],
    ['spaces only', { reason: '   ' }, 400],
    ['501 characters', { reason: 'x'.repeat(501) }, 400],
    ['a newline', { reason: 'spam\nmore' }, 400],
    ['a NUL', { reason: 'spam\u0000' }, 400],
    ['an invisible formatting character', { reason: 'sp\u200bam' }, 400],
    ['a right-to-left override', { reason: 'spam\u202e' }, 400],
    ['a number', { reason: 42 }, 400],
    ['a member more', { reason: 'spam', until: 'tomorrow' }, 400],
    ['an array', ['spam'], 400],
    ['not JSON', '{"reason":', 400],
    ['no body', undefined, 400],
  ];
  for (const [name, body, status] of refused) {
    const answer = await ban(body);
    t.equal(answer.status, status, name);
    t.match(answer.json, { code: 'invalid_request' }, name);
  }
  t.equal((await ban('reason=spam', { 'content-type': 'application/x-www-form-urlencoded' })).status, 415, 'a form');
  t.equal(await meStatus(roost, carol.access), 200, 'nothing was ended');
  t.equal((await events('user.banned', carol.sub)).length, 0, 'nothing was recorded');

  const longest = 'é'.repeat(499) + '✓';
  const accepted = await ban({ reason: longest });
  t.equal(accepted.status, 200, '500 characters, any script');
  t.equal(accepted.json.ban_reason, longest, 'kept whole');
  const [event] = await events('user.banned', carol.sub);
  t.equal(event?.detail.reason, longest.slice(0, 200), 'the event holds its first 200 characters');
  t.equal(event?.detail.key_id, adminKeyId(ADMIN_KEYS[1]));
  t.equal(await meStatus(roost, carol.access), 401);
});

t.test('banning or unbanning an unknown or malformed id is 404', async (t) => {
  for (const id of ['0b7e6a52-3f1c-4f7e-9d2a-6c1b5e4d3a21', 'nope', '%00']) {
    t.equal((await admin(roost, 'POST', `/admin/users/${id}/ban`, { body: { reason: 'spam' } })).status, 404, `ban ${id}`);
    t.equal((await admin(roost, 'POST', `/admin/users/${id}/unban`)).status, 404, `unban ${id}`);
  }
});

t.test('DELETE /admin/users/{id} deletes the user as DELETE /me does', async (t) => {
  const bob = await signedIn(roost, 1);
  const deleted = await admin(roost, 'DELETE', `/admin/users/${bob.sub}`);
  t.equal(deleted.status, 204);
  t.equal(deleted.text, '');
  t.equal(await meStatus(roost, bob.access), 401, 'its tokens are refused');
  t.match(await refresh(roost, bob.refresh), { status: 400, json: { error: 'invalid_grant' } });
  t.equal((await roost.deps.db.selectFrom('users').select('id').where('id', '=', bob.sub).execute()).length, 0, 'the row is gone');
  t.equal((await roost.deps.db.selectFrom('sessions').select('id').where('user_id', '=', bob.sub).execute()).length, 0, 'its sessions too');
  const [event] = await events('account.deleted', bob.sub);
  t.match(event, { user_id: bob.sub, detail: { by: 'admin' } });
  t.equal(event?.detail.key_id, keyId);
  t.notOk(roost.logs.some((line) => line.msg === 'account deleted, but Twitter did not revoke its access token'), 'X revoked its token');
  t.equal((await admin(roost, 'DELETE', `/admin/users/${bob.sub}`)).status, 404, 'a second time: no such user');
  t.equal((await admin(roost, 'DELETE', '/admin/users/nope')).status, 404);
  const again = await signedIn(roost, 1);
  t.not(again.sub, bob.sub, 'signing in again makes a new account');
});

t.test('DELETE /admin/sessions/{id} ends that session only', async (t) => {
  // alice: carol is banned by now, and alice's ban was lifted.
  const one = await signedIn(roost, 0);
  const other = await signedIn(roost, 0);
  const ended = await admin(roost, 'DELETE', `/admin/sessions/${one.sid.toUpperCase()}`);
  t.equal(ended.status, 204);
  t.equal(await meStatus(roost, one.access), 401, 'its access token is refused at once');
  t.match(await refresh(roost, one.refresh), { status: 400, json: { error: 'invalid_grant' } });
  t.equal(await meStatus(roost, other.access), 200, 'the user’s other session lives on');
  const [event] = (await events('session.ended', one.sub)).filter((row) => row.session_id === one.sid);
  t.match(event, { detail: { reason: 'revocation', by: 'admin' } });
  t.equal(event?.detail.key_id, keyId);
  const detail = (await admin(roost, 'GET', `/admin/users/${one.sub}`)).json;
  t.match(detail.sessions.find((session: { id: string }) => session.id === one.sid), { active: false, end_reason: 'ended_by_admin' });

  const twice = await admin(roost, 'DELETE', `/admin/sessions/${one.sid}`);
  t.equal(twice.status, 204, 'ending it again is fine');
  t.equal((await events('session.ended', one.sub)).filter((row) => row.session_id === one.sid).length, 1, 'and ends nothing more');
  t.match((await events('admin.action', one.sub)).at(-1), { session_id: one.sid, detail: { action: 'sessions.end', result: 'already_ended' } });
  for (const id of ['0b7e6a52-3f1c-4f7e-9d2a-6c1b5e4d3a21', 'nope', one.sub]) {
    const answer = await admin(roost, 'DELETE', `/admin/sessions/${id}`);
    t.equal(answer.status, 404, id);
    t.match(answer.json, { code: 'not_found' });
  }
});

t.test('a ban written while codes are being redeemed leaves no session of the user alive', async (t) => {
  const { createHash, randomBytes } = await import('node:crypto');
  const user = 2;
  // Whoever the tests before left banned signs in again here.
  const existing = await roost.deps.db.selectFrom('users').select('id').where('twitter_id', '=', roost.users[user]!.id_str).executeTakeFirst();
  if (existing) await admin(roost, 'POST', `/admin/users/${existing.id}/unban`);
  const codes = [];
  for (let i = 0; i < 8; i += 1) {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const callback = await signIn(new Browser(), roost, { user, returnTo: 'http://app.test/cb', loginQuery: { code_challenge: challenge, code_challenge_method: 'S256' } });
    codes.push({ code: new URL(callback.location as string).searchParams.get('code') as string, verifier });
  }
  const { sub } = await signedIn(roost, user);
  const redeem = ({ code, verifier }: { code: string; verifier: string }) =>
    fetch(`${roost.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'http://app.test/cb' }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> }));
  const [, ...redeemed] = await Promise.all([admin(roost, 'POST', `/admin/users/${sub}/ban`, { body: { reason: 'race' } }), ...codes.map(redeem)]);
  const live = await roost.deps.db.selectFrom('sessions').select('id').where('user_id', '=', sub).where('revoked_at', 'is', null).execute();
  t.same(live, [], 'every session of the user is ended, those opened during the ban too');
  for (const answer of redeemed.filter((one) => one.status === 200)) {
    t.equal((await refresh(roost, answer.body.refresh_token as string)).status, 400, 'a session that slipped through cannot refresh');
  }
  await admin(roost, 'POST', `/admin/users/${sub}/unban`);
});
