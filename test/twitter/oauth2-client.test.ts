// The OAuth 2.0 client against a scriptable X over real HTTP: what it sends,
// what it makes of each answer, and every way a call can fail (the answers
// a strict OAuth server never gives: 429, 5xx, hangs, garbage). The
// protocol itself is checked against oauthlib in oauth2-interop.test.ts.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import t, { type Test } from 'tap';
import { AppError } from '../../src/errors.js';
import type { TwitterErrorEvent } from '../../src/twitter/client.js';
import { createOAuth2Upstream, type OAuth2UpstreamOptions } from '../../src/twitter/oauth2-client.js';
import type { EmailMode, Upstream } from '../../src/twitter/upstream.js';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}
type Behaviour = (request: IncomingMessage, response: ServerResponse, seen: Seen) => void;

const CLIENT_ID = 'Y2xpZW50LWlkLWZvci10ZXN0czoxOmNp';
const CLIENT_SECRET = 'sec:ret+/= é~';
const CALLBACK = 'http://127.0.0.1:9/login/callback';
const ACCESS_TOKEN = 'QWNjZXNzLXRva2VuLWZvci10ZXN0cy0xMjM0NTY3ODk6MTpjaQ';
const USER = { id: '1240000000000000001', name: 'Alice', username: 'alice', profile_image_url: 'https://pbs.twimg.com/a_normal.png', confirmed_email: 'alice@example.com' };

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Behaviour => (_request, response) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
};
const WORKING = {
  '/2/oauth2/token': json(200, { token_type: 'bearer', expires_in: 7200, access_token: ACCESS_TOKEN, scope: 'tweet.read users.read users.email' }),
  '/2/users/me': json(200, { data: USER }),
  '/2/oauth2/revoke': json(200, { revoked: true }),
} as const;
type Path = keyof typeof WORKING;

const behaviours: Record<string, Behaviour> = { ...WORKING };
const seen: Seen[] = [];
let clockOffsetMs = 0;
const sockets = new Set<Socket>();
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const [path = '', query = ''] = (request.url ?? '').split('?');
    const entry = { method: request.method ?? '', path, query, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
    seen.push(entry);
    response.setHeader('date', new Date(Date.now() + clockOffsetMs).toUTCString());
    const behaviour = behaviours[path];
    if (!behaviour) return void response.writeHead(404).end();
    behaviour(request, response, entry);
  });
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
t.teardown(
  () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
);

function use(t: Test, path: Path, behaviour: Behaviour) {
  behaviours[path] = behaviour;
  t.teardown(() => {
    behaviours[path] = WORKING[path];
  });
}

interface Harness {
  readonly upstream: Upstream;
  readonly events: TwitterErrorEvent[];
  readonly timedCalls: string[];
  /** What each timed call ended in, as the metrics would count it. */
  readonly outcomes: string[];
}

function harness(overrides: Partial<OAuth2UpstreamOptions> = {}): Harness {
  const events: TwitterErrorEvent[] = [];
  const timedCalls: string[] = [];
  const outcomes: string[] = [];
  const upstream = createOAuth2Upstream({
    apiUrl,
    authorizeUrl: 'https://x.com/i/oauth2/authorize',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    timeoutMs: 400,
    email: 'optional',
    onTwitterError: (event) => events.push(event),
    timed: async (endpoint, work) => {
      timedCalls.push(endpoint);
      try {
        const result = await work();
        outcomes.push(`${endpoint} ok`);
        return result;
      } catch (error) {
        outcomes.push(`${endpoint} ${error instanceof AppError ? error.code : 'thrown'}`);
        throw error;
      }
    },
    ...overrides,
  });
  return { upstream, events, timedCalls, outcomes };
}

async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const FLOW = { handle: 'state-value', secret: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' };
const CODE = 'VGhlLWF1dGhvcml6YXRpb24tY29kZS0xMjM0NTY3ODkwOjE2NzI6MTpjaQ';

t.test('begin() makes no call, and each start is fresh', async (t) => {
  for (const email of ['off', 'optional', 'required'] as EmailMode[]) {
    const { upstream, timedCalls } = harness({ email });
    const before = seen.length;
    const starts = await Promise.all(Array.from({ length: 50 }, () => upstream.begin(CALLBACK)));
    t.equal(seen.length, before, `${email}: nothing sent to X`);
    t.same(timedCalls, [], `${email}: nothing timed`);

    for (const start of starts) {
      const url = new URL(start.location);
      t.equal(`${url.origin}${url.pathname}`, 'https://x.com/i/oauth2/authorize');
      t.same(
        [...url.searchParams.keys()],
        ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'],
        'each parameter once, nothing else',
      );
      const query = url.searchParams;
      t.equal(query.get('response_type'), 'code');
      t.equal(query.get('client_id'), CLIENT_ID);
      t.equal(query.get('redirect_uri'), CALLBACK);
      t.equal(query.get('scope'), email === 'off' ? 'tweet.read users.read' : 'tweet.read users.read users.email');
      t.notMatch(start.location, /offline\.access|offline_access/, 'never a refresh token');
      t.equal(query.get('state'), start.handle, 'the handle is the state');
      t.equal(Buffer.from(start.handle, 'base64url').length, 32, 'the state is 32 random bytes');
      t.match(start.handle, /^[A-Za-z0-9_-]{43}$/);
      t.match(start.secret, /^[A-Za-z0-9\-._~]{43,128}$/, 'the verifier follows RFC 7636 §4.1');
      t.equal(query.get('code_challenge'), createHash('sha256').update(start.secret).digest('base64url'), 'the challenge is S256 of the verifier');
      t.equal(query.get('code_challenge_method'), 'S256');
      t.notMatch(start.location, start.secret, 'the verifier stays in roost');
    }
    t.equal(new Set(starts.map((start) => start.handle)).size, starts.length, `${email}: a fresh state every time`);
    t.equal(new Set(starts.map((start) => start.secret)).size, starts.length, `${email}: a fresh verifier every time`);
  }
});

t.test('complete() exchanges the code as a confidential client, then reads the profile', async (t) => {
  const { upstream, events, timedCalls, outcomes } = harness();
  const before = seen.length;
  const signIn = await upstream.complete(FLOW, CODE, CALLBACK);
  t.same(outcomes, ['2/oauth2/token ok', '2/users/me ok']);
  t.same(signIn, {
    profile: { twitterId: USER.id, screenName: 'alice', name: 'Alice', picture: USER.profile_image_url, email: 'alice@example.com' },
    credentials: { protocol: 'oauth2', token: ACCESS_TOKEN, secret: null },
  });
  t.same(timedCalls, ['2/oauth2/token', '2/users/me']);
  t.same(events, []);

  const [exchange, me] = seen.slice(before);
  t.equal(exchange?.method, 'POST');
  t.equal(exchange?.path, '/2/oauth2/token');
  t.equal(exchange?.query, '', 'nothing in the token URL');
  t.equal(exchange?.headers['content-type'], 'application/x-www-form-urlencoded');
  t.same([...new URLSearchParams(exchange?.body)], [
    ['grant_type', 'authorization_code'],
    ['code', CODE],
    ['redirect_uri', CALLBACK],
    ['code_verifier', FLOW.secret],
    ['client_id', CLIENT_ID],
  ]);
  const basic = Buffer.from((exchange?.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
  t.equal(basic.split(':').length, 2, 'one separator: both parts are form-encoded');
  t.same(basic.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' '))), [CLIENT_ID, CLIENT_SECRET], 'HTTP Basic with the client id and secret');

  t.equal(me?.method, 'GET');
  t.equal(me?.path, '/2/users/me');
  t.equal(me?.query, 'user.fields=id,name,username,profile_image_url,confirmed_email');
  t.equal(me?.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
});

t.test('with email off, the email is neither asked for nor kept', async (t) => {
  const { upstream } = harness({ email: 'off' });
  const before = seen.length;
  const signIn = await upstream.complete(FLOW, CODE, CALLBACK);
  t.equal(seen[before + 1]?.query, 'user.fields=id,name,username,profile_image_url');
  t.equal(signIn.profile.email, null, 'even though this X sent one');
});

t.test('a user without a confirmed email signs in without one', async (t) => {
  use(t, '/2/users/me', json(200, { data: { id: '7', username: 'noemail', name: 'No Email' } }));
  const { upstream } = harness({ email: 'required' });
  t.same((await upstream.complete(FLOW, CODE, CALLBACK)).profile, { twitterId: '7', screenName: 'noemail', name: 'No Email', picture: null, email: null });
});

t.test('an empty code is refused without a call', async (t) => {
  const { upstream } = harness();
  const before = seen.length;
  t.match(await failureOf(upstream.complete(FLOW, '', CALLBACK)), { code: 'twitter_rejected_verifier' });
  t.equal(seen.length, before);
});

const hang: Behaviour = () => {};
const stallAfterHeaders: Behaviour = (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
  response.write('{"token_type":');
};
const reset: Behaviour = (request) => request.socket.destroy();
const errorOf = (status: number, error: string, description?: string) => json(status, { error, ...(description ? { error_description: description } : {}) });

// What X answers at the token endpoint; the problem it becomes; its detail; its status.
const tokenFailures: Array<[string, Behaviour, string, RegExp, number]> = [
  ['invalid_grant', errorOf(400, 'invalid_grant', 'Invalid authorization code'), 'twitter_rejected_verifier', /start again/, 400],
  ['an expired or used code, in X words', errorOf(400, 'invalid_request', 'Value passed for the authorization code was invalid.'), 'twitter_rejected_verifier', /start again/, 400],
  ['a verifier that does not match, in X words', errorOf(400, 'invalid_request', 'Value passed for the code verifier did not match the code challenge.'), 'twitter_rejected_verifier', /start again/, 400],
  ['wrong client credentials, in X words', errorOf(401, 'unauthorized_client', 'Missing valid authorization header'), 'twitter_auth_failed', /TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/, 502],
  ['invalid_client', errorOf(401, 'invalid_client'), 'twitter_auth_failed', /TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/, 502],
  ['a redirect_uri X does not know', errorOf(400, 'invalid_request', 'Value passed for the redirect uri did not match the uri of the authorization code.'), 'twitter_callback_not_approved', /the callback URL http:\/\/127\.0\.0\.1:9\/login\/callback is not registered for this client in X's developer portal/, 502],
  ['a malformed request', errorOf(400, 'invalid_request', 'Missing required parameter [grant_type].'), 'twitter_bad_authentication_data', /TWITTER_API_URL/, 502],
  ['HTTP 500', json(500, 'Internal Server Error'), 'twitter_unavailable', /HTTP 500/, 502],
  ['HTTP 503, empty', json(503, ''), 'twitter_unavailable', /HTTP 503/, 502],
  ['a hang', hang, 'twitter_timeout', /within 400 ms/, 504],
  ['headers, then silence', stallAfterHeaders, 'twitter_timeout', /within 400 ms/, 504],
  ['a reset connection', reset, 'twitter_unavailable', /could not be reached/, 502],
  ['a garbage body', json(200, '\u0000garbage{'), 'twitter_bad_response', /not a JSON object/, 502],
  ['an HTML page', json(200, '<html>Over capacity</html>'), 'twitter_bad_response', /not a JSON object/, 502],
  ['an oversized body', json(200, 'x'.repeat(100_000)), 'twitter_bad_response', /larger than/, 502],
  ['a token that is not bearer', json(200, { token_type: 'mac', access_token: ACCESS_TOKEN }), 'twitter_bad_response', /token_type/, 502],
  ['no token', json(200, { token_type: 'bearer', expires_in: 7200 }), 'twitter_bad_response', /access_token/, 502],
];

t.test('failures at the token endpoint', async (t) => {
  for (const [name, behaviour, code, detail, status] of tokenFailures) {
    await t.test(name, async (t) => {
      use(t, '/2/oauth2/token', behaviour);
      const { upstream, outcomes } = harness();
      const before = seen.length;
      const started = performance.now();
      const error = await failureOf(upstream.complete(FLOW, CODE, CALLBACK));
      t.match(error, { code, status, detail });
      t.same(outcomes, [`2/oauth2/token ${code}`], 'the timed call failed with it');
      t.ok(performance.now() - started < 3000, 'answered promptly');
      t.notOk(seen.slice(before).some((request) => request.path === '/2/users/me'), 'no profile read without a token');
    });
  }
});

t.test('a rate limit says when it ends', async (t) => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  use(t, '/2/oauth2/token', json(429, { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 }, { 'x-rate-limit-reset': String(now / 1000 + 300) }));
  const { upstream, events } = harness({ now: () => now });
  const error = await failureOf(upstream.complete(FLOW, CODE, CALLBACK));
  t.match(error, {
    code: 'rate_limited',
    status: 429,
    detail: "X's rate limit for 2/oauth2/token is used up until 2026-01-01T12:05:00Z (in 300 s); sign-ins through X resume then",
  });
  t.same(error.headers, { 'retry-after': '300' });
  t.match(events, [{ endpoint: '2/oauth2/token', status: 429 }]);

  use(t, '/2/oauth2/token', json(429, ''));
  const unknown = await failureOf(harness({ now: () => now }).upstream.complete(FLOW, CODE, CALLBACK));
  t.match(unknown, { code: 'rate_limited', detail: /did not say until when/ });
  t.same(unknown.headers, {}, 'no Retry-After without a reset');
});

const usersMeFailures: Array<[string, Behaviour, string, RegExp]> = [
  ['401', json(401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' }), 'twitter_token_invalid', /HTTP 401: Unauthorized: Unauthorized/],
  [
    '200 with errors and no data',
    json(200, { errors: [{ title: 'Forbidden', detail: 'User has been suspended: [1240000000000000001].', type: 'https://api.twitter.com/2/problems/resource-not-found' }] }),
    'twitter_bad_response',
    /errors and no user \(Forbidden: User has been suspended/,
  ],
  [
    '403 from an app outside a Project',
    json(403, { reason: 'client-not-enrolled', title: 'Client Forbidden', type: 'https://api.twitter.com/2/problems/client-forbidden', detail: 'attach to a Project' }),
    'twitter_app_suspended',
    /attach the app to a Project/,
  ],
  ['429', json(429, { title: 'Too Many Requests' }, { 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 60) }), 'rate_limited', /used up until .* \(in \d+ s\)/],
  ['HTTP 502', json(502, '<html>bad gateway</html>'), 'twitter_unavailable', /HTTP 502/],
  ['a hang', hang, 'twitter_timeout', /2\/users\/me within 400 ms/],
  ['a garbage body', json(200, '{"data":'), 'twitter_bad_response', /not a JSON object/],
  ['a numeric id', json(200, { data: { ...USER, id: 1240000000000000001 } }), 'twitter_bad_response', /valid user id/],
];

t.test('failures at /2/users/me', async (t) => {
  for (const [name, behaviour, code, detail] of usersMeFailures) {
    await t.test(name, async (t) => {
      use(t, '/2/users/me', behaviour);
      const { upstream, timedCalls, outcomes } = harness();
      t.match(await failureOf(upstream.complete(FLOW, CODE, CALLBACK)), { code, detail });
      t.same(timedCalls, ['2/oauth2/token', '2/users/me']);
      t.same(outcomes, ['2/oauth2/token ok', `2/users/me ${code}`]);
    });
  }
});

t.test('revoke() revokes the access token as a confidential client', async (t) => {
  const { upstream, timedCalls } = harness();
  const before = seen.length;
  await upstream.revoke({ protocol: 'oauth2', token: ACCESS_TOKEN, secret: null });
  const [call] = seen.slice(before);
  t.equal(call?.method, 'POST');
  t.equal(call?.path, '/2/oauth2/revoke');
  t.equal(call?.headers['content-type'], 'application/x-www-form-urlencoded');
  t.same([...new URLSearchParams(call?.body)], [
    ['token', ACCESS_TOKEN],
    ['token_type_hint', 'access_token'],
    ['client_id', CLIENT_ID],
  ]);
  t.match(call?.headers.authorization, /^Basic /);
  t.same(timedCalls, ['2/oauth2/revoke']);
});

t.test('revoke() refuses OAuth 1.0a credentials without a call', async (t) => {
  const { upstream, timedCalls } = harness();
  const before = seen.length;
  const error = await failureOf(upstream.revoke({ protocol: 'oauth1', token: 'a-token', secret: 'a-secret' }));
  t.match(error, { code: 'internal_error', detail: /OAuth 1\.0a; the OAuth 2\.0 client cannot revoke them/ });
  t.equal(seen.length, before);
  t.same(timedCalls, []);
});

t.test('revoke() failures', async (t) => {
  const cases: Array<[string, Behaviour, string]> = [
    ['wrong client credentials', errorOf(401, 'unauthorized_client', 'Missing valid authorization header'), 'twitter_auth_failed'],
    ['a token X no longer knows', errorOf(400, 'invalid_request', 'Value passed for the token was invalid.'), 'twitter_token_invalid'],
    ['HTTP 503', json(503, ''), 'twitter_unavailable'],
    ['a hang', hang, 'twitter_timeout'],
  ];
  for (const [name, behaviour, code] of cases) {
    await t.test(name, async (t) => {
      use(t, '/2/oauth2/revoke', behaviour);
      const { upstream, outcomes } = harness();
      t.match(await failureOf(upstream.revoke({ protocol: 'oauth2', token: ACCESS_TOKEN, secret: null })), { code });
      t.same(outcomes, [`2/oauth2/revoke ${code}`]);
    });
  }
});

t.test('checkClock() compares with the Date of any answer', async (t) => {
  clockOffsetMs = -90_000;
  t.teardown(() => {
    clockOffsetMs = 0;
  });
  const skew = await harness().upstream.checkClock();
  t.ok(skew !== undefined && skew >= 89 && skew <= 91, `90 s ahead of X (got ${skew})`);
  t.equal(await harness({ apiUrl: 'http://127.0.0.1:1' }).upstream.checkClock(), undefined, 'undefined when X does not answer');
});

t.test('no token, code, verifier or client secret reaches an event or an error', async (t) => {
  // A hostile or careless X that echoes everything it was sent, in every field it has.
  const echo = (status: number, shape: 'oauth' | 'api', headers: Record<string, string> = {}): Behaviour => (request, response, seen) => {
    const basic = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
    const words = `got ${seen.body} with ${request.headers.authorization} (${basic}) secret=${decodeURIComponent(basic.split(':')[1] ?? '')} ${CLIENT_SECRET}`;
    const code = new URLSearchParams(seen.body).get('code') ?? new URLSearchParams(seen.body).get('token') ?? '';
    const body = shape === 'oauth' ? { error: status === 401 ? code : 'invalid_request', error_description: words } : { title: `Echo ${words}`, detail: words, errors: [{ title: words, detail: words, message: words }] };
    json(status, body, headers)(request, response, seen);
  };
  const basicCredentials = Buffer.from(`${new URLSearchParams({ s: CLIENT_ID }).toString().slice(2)}:${new URLSearchParams({ s: CLIENT_SECRET }).toString().slice(2)}`).toString('base64');
  const secrets = [CODE, FLOW.secret, ACCESS_TOKEN, CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET), new URLSearchParams({ s: CLIENT_SECRET }).toString().slice(2), basicCredentials];
  const cases: Array<[string, Path, Behaviour, (upstream: Upstream) => Promise<unknown>]> = [
    ['token 400', '/2/oauth2/token', echo(400, 'oauth'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['token 401', '/2/oauth2/token', echo(401, 'oauth'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['token 429', '/2/oauth2/token', echo(429, 'oauth', { 'x-rate-limit-reset': '1' }), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['token 500', '/2/oauth2/token', echo(500, 'oauth'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['token 200 unusable', '/2/oauth2/token', echo(200, 'oauth'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['users/me 401', '/2/users/me', echo(401, 'api'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['users/me 403', '/2/users/me', echo(403, 'api'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['users/me 200 with errors', '/2/users/me', echo(200, 'api'), (u) => u.complete(FLOW, CODE, CALLBACK)],
    ['revoke 400', '/2/oauth2/revoke', echo(400, 'oauth'), (u) => u.revoke({ protocol: 'oauth2', token: ACCESS_TOKEN, secret: null })],
    ['revoke 401', '/2/oauth2/revoke', echo(401, 'oauth'), (u) => u.revoke({ protocol: 'oauth2', token: ACCESS_TOKEN, secret: null })],
  ];
  for (const [name, path, behaviour, act] of cases) {
    await t.test(name, async (t) => {
      use(t, path, behaviour);
      const { upstream, events } = harness();
      const error = await failureOf(act(upstream));
      const written = JSON.stringify({ events, message: error.message, detail: error.detail, members: error.members, headers: error.headers });
      t.ok(events.length > 0 || name === 'token 200 unusable', 'the failure was reported');
      for (const secret of secrets) t.notOk(written.includes(secret), `${name}: ${secret.slice(0, 6)}… is not written`);
    });
  }
});
