// The sign-in hook caller against a real HTTP hook that verifies each
// request with the npm standardwebhooks library: the request it sends, and
// each outcome (allowed, refused, and every way of failing).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import t from 'tap';
import { parseWebhookSecret } from '../../src/webhooks/standard-webhooks.js';
import { createSignInHook, DEFAULT_SIGN_IN_HOOK_TIMEOUT_MS, type SignInHookRequest } from '../../src/webhooks/sign-in-hook.js';
import { freePort } from '../helpers/roost.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const KEY = (parseWebhookSecret(SECRET) as { key: Buffer }).key;

interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly verified: unknown;
}
type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'drop';
let reply: (seen: Seen) => Reply = () => ({ status: 200, body: '{"allow":true}' });
const seen: Seen[] = [];
const sockets = new Set<Socket>();
const server = createServer(async (request, response) => {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  let verified: unknown;
  try {
    verified = new Webhook(SECRET).verify(body, request.headers as Record<string, string>);
  } catch (error) {
    verified = error;
  }
  const entry = { headers: request.headers, body, verified };
  seen.push(entry);
  const answer = reply(entry);
  if (answer === 'hang') return;
  if (answer === 'drop') return request.socket.destroy();
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body ?? '');
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(
  () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
);
const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sign-in`;

const hook = createSignInHook({ url: hookUrl, key: KEY, timeoutMs: 300, now: () => Date.now() });
t.teardown(() => hook.close());

const request: SignInHookRequest = {
  user: { id: randomUUID(), twitter_id: '2244994945', screen_name: 'XDevelopers', name: 'Developers', picture: 'https://pbs.twimg.com/a.jpg', email: null },
  isNewUser: true,
  protocol: 'oauth2',
};
const answer = (body: unknown, status = 200) => () => ({ status, body: typeof body === 'string' ? body : JSON.stringify(body) });

t.test('the request: the user, whether new, the protocol, signed the Standard Webhooks way', async (t) => {
  seen.length = 0;
  reply = answer({ allow: true, claims: { role: 'editor' } });
  t.same(await hook.call(request), { outcome: 'allowed', claims: { role: 'editor' } });
  t.same(await hook.call({ ...request, isNewUser: false, protocol: 'oauth1' }), { outcome: 'allowed', claims: { role: 'editor' } });
  const [first, second] = seen;
  t.same(first?.verified, { user: request.user, is_new_user: true, protocol: 'oauth2' }, 'verified by the library, and this is the body');
  t.same(second?.verified, { user: request.user, is_new_user: false, protocol: 'oauth1' });
  t.equal(first?.headers['content-type'], 'application/json');
  t.equal(first?.headers.accept, 'application/json');
  t.not(first?.headers['webhook-id'], second?.headers['webhook-id'], 'a fresh id per call');
  t.throws(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(first?.body as string, first?.headers as Record<string, string>), { message: 'No matching signature found' }, 'not with another secret');
  t.same(Object.keys(JSON.parse(first?.body as string).user), ['id', 'twitter_id', 'screen_name', 'name', 'picture', 'email'], 'the user fields, nothing else');
});

t.test('allowed and refused', async (t) => {
  const cases: Array<[string, unknown, unknown]> = [
    ['allowed with claims', { allow: true, claims: { tenant: 't1', roles: ['a', 'b'] } }, { outcome: 'allowed', claims: { tenant: 't1', roles: ['a', 'b'] } }],
    ['allowed without claims', { allow: true }, { outcome: 'allowed', claims: {} }],
    ['refused with a reason', { allow: false, reason: 'Your organisation has not enabled this app' }, { outcome: 'refused', reason: 'Your organisation has not enabled this app' }],
    ['refused without one', { allow: false }, { outcome: 'refused', reason: 'Sign-in was refused' }],
    ['a reason trimmed and made printable', { allow: false, reason: `\u001b[31m  ${'no '.repeat(100)}\n` }, { outcome: 'refused', reason: `[31m ${'no '.repeat(64)}no…` }],
  ];
  for (const [name, body, expected] of cases) {
    reply = answer(body);
    t.same(await hook.call(request), expected, name);
  }
});

t.test('the hook\'s errors: bad answers', async (t) => {
  const cases: Array<[string, () => Reply, RegExp]> = [
    ['garbage', () => ({ status: 200, body: 'OK' }), /not JSON/],
    ['an empty body', () => ({ status: 200, body: '' }), /not JSON/],
    ['no decision', answer({ claims: {} }), /no boolean "allow"/],
    ['a forbidden claim', answer({ allow: true, claims: { sub: 'another-user' } }), /claims roost owns: "sub"/],
    ['forbidden claims', answer({ allow: true, claims: { email_verified: true, scope: 'admin' } }), /claims roost owns: "email_verified", "scope"/],
    ['oversized claims', answer({ allow: true, claims: { blob: 'x'.repeat(5000) } }), /more than 4096/],
    ['an answer larger than 16 KB', answer({ allow: true, claims: { blob: 'x'.repeat(20_000) } }), /larger than 16384 bytes/],
    ['a reason that is no string', answer({ allow: false, reason: 42 }), /"reason" is not a string/],
  ];
  for (const [name, make, problem] of cases) {
    reply = make;
    t.match(await hook.call(request), { outcome: 'failed', kind: 'bad_answer', problem, status: 200 }, name);
  }
});

t.test('the hook\'s errors: statuses', async (t) => {
  for (const status of [201, 204, 302, 400, 403, 500, 503]) {
    reply = answer({ allow: true }, status);
    t.same(await hook.call(request), { outcome: 'failed', kind: 'bad_status', problem: `the hook answered ${status}, not 200`, status }, String(status));
  }
  reply = () => ({ status: 302, headers: { location: 'http://127.0.0.1:1/' } });
  t.match(await hook.call(request), { kind: 'bad_status', status: 302 }, 'a redirect is not followed');
});

t.test('the hook\'s errors: timeout and no connection', async (t) => {
  reply = () => 'hang';
  const started = Date.now();
  t.same(await hook.call(request), { outcome: 'failed', kind: 'timeout', problem: 'no answer within 300 ms' });
  const took = Date.now() - started;
  t.ok(took >= 290 && took < 1000, `bounded by SIGN_IN_HOOK_TIMEOUT_MS (${took} ms)`);
  reply = () => 'drop';
  t.same(await hook.call(request), { outcome: 'failed', kind: 'unreachable', problem: 'the hook could not be reached' }, 'a connection closed without an answer');
  const closed = createSignInHook({ url: `http://127.0.0.1:${await freePort()}/`, key: KEY, now: () => Date.now() });
  t.teardown(() => closed.close());
  t.same(await closed.call(request), { outcome: 'failed', kind: 'unreachable', problem: 'the hook could not be reached' }, 'nothing listening');
  const unparsable = createSignInHook({ url: 'http://user:hook-credential@[::1', key: KEY, now: () => Date.now() });
  t.teardown(() => unparsable.close());
  const failed = await unparsable.call(request);
  t.same(failed, { outcome: 'failed', kind: 'unreachable', problem: 'the hook could not be reached' }, 'an unparsable URL');
  t.equal(DEFAULT_SIGN_IN_HOOK_TIMEOUT_MS, 2000);
});

t.test('a call the hook holds holds up no other call', async (t) => {
  reply = () => 'hang';
  const slow = createSignInHook({ url: hookUrl, key: KEY, timeoutMs: 1000, now: () => Date.now() });
  t.teardown(() => slow.close());
  const pending = slow.call(request);
  await new Promise((resolve) => setTimeout(resolve, 100));
  reply = answer({ allow: true });
  // The held request never answers; a second call is answered at once.
  const started = Date.now();
  t.same(await slow.call(request), { outcome: 'allowed', claims: {} });
  t.ok(Date.now() - started < 500);
  t.match(await pending, { outcome: 'failed', kind: 'timeout' });
});
