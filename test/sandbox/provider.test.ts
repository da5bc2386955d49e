// The sandbox provider over real HTTP, driven the way roost drives Twitter:
// requests signed by the oauth-1.0a package, the consent page read and
// submitted as a browser would.
import { createHmac } from 'node:crypto';
import Fastify from 'fastify';
import OAuth from 'oauth-1.0a';
import t from 'tap';
import { sandboxProvider, startSandboxServer, type SandboxServer, type SandboxServerOptions } from '../../src/sandbox/provider.js';
import { createDefaultSandboxUsers, type SandboxUser } from '../../src/sandbox/users.js';

const CONSUMER = { key: 'sandbox-test-consumer', secret: 'sandbox-test-secret' };
const CALLBACK = 'http://app.test/login/callback';
const VERIFY_QUERY = 'include_email=true&skip_status=true&include_entities=false';

interface Pair {
  token: string;
  secret: string;
}

interface SignOptions {
  token?: Pair;
  /** Extra protocol parameters, signed and sent in the header (oauth_callback, oauth_verifier). */
  header?: Record<string, string>;
  /** Form body parameters, signed and sent in the body. */
  body?: Record<string, string>;
}

function createSigner(options: { consumer?: OAuth.Consumer; clock?: () => number; signatureMethod?: string; version?: string } = {}) {
  const oauth = new OAuth({
    consumer: options.consumer ?? CONSUMER,
    signature_method: options.signatureMethod ?? 'HMAC-SHA1',
    version: options.version ?? '1.0',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const clock = options.clock;
  if (clock !== undefined) oauth.getTimeStamp = () => Math.floor(clock() / 1000);
  return (method: string, url: string, sign: SignOptions = {}): string => {
    const header = sign.header ?? {};
    const body = sign.body ?? {};
    const signed = oauth.authorize({ url, method, data: { ...header, ...body } }, sign.token && { key: sign.token.token, secret: sign.token.secret });
    // authorize() signs `data` but its answer is not the header: keep the protocol
    // parameters meant for the header, and leave body parameters in the body.
    const protocol = Object.fromEntries(
      Object.entries({ ...signed, ...header }).filter(([name]) => name.startsWith('oauth_') && !(name in body)),
    ) as unknown as OAuth.Authorization;
    return oauth.toHeader(protocol).Authorization;
  };
}

const sign = createSigner();

/**
 * Signs by hand (RFC 5849 §3.4.1, §3.4.2) what oauth-1.0a cannot express: a
 * request without oauth_version, or one parameter in two places. The values
 * used here hold no !*'() characters, so encodeURIComponent is §3.6 encoding.
 */
function signByHand(method: string, url: string, protocol: Record<string, string>, extra: [string, string][] = [], tokenSecret = ''): string {
  const params: [string, string][] = [...Object.entries(protocol), ...extra].map(([name, value]) => [encodeURIComponent(name), encodeURIComponent(value)]);
  params.sort(([an, av], [bn, bv]) => (an === bn ? (av < bv ? -1 : 1) : an < bn ? -1 : 1));
  const normalized = params.map(([name, value]) => `${name}=${value}`).join('&');
  const base = `${method}&${encodeURIComponent(url)}&${encodeURIComponent(normalized)}`;
  const signature = createHmac('sha1', `${CONSUMER.secret}&${tokenSecret}`).update(base).digest('base64');
  return `OAuth ${Object.entries({ ...protocol, oauth_signature: signature })
    .map(([name, value]) => `${name}="${encodeURIComponent(value)}"`)
    .join(', ')}`;
}

function freshProtocolParams(extra: Record<string, string> = {}): Record<string, string> {
  return {
    oauth_consumer_key: CONSUMER.key,
    oauth_nonce: `hand-${Math.random().toString(36).slice(2)}`,
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(Date.now() / 1000)),
    ...extra,
  };
}

async function send(url: string, init: { method?: string; authorization?: string; form?: Record<string, string>; body?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  let body: string | undefined = init.body;
  if (init.form !== undefined) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function twitterError(text: string): unknown {
  return (JSON.parse(text) as { errors: unknown }).errors;
}

async function requestToken(base: string, options: { callback?: string; signer?: typeof sign } = {}) {
  const url = `${base}/oauth/request_token`;
  const answer = await send(url, {
    method: 'POST',
    authorization: (options.signer ?? sign)('POST', url, { header: { oauth_callback: options.callback ?? CALLBACK } }),
  });
  const form = new URLSearchParams(answer.text);
  return { ...answer, token: form.get('oauth_token') ?? '', secret: form.get('oauth_token_secret') ?? '' };
}

/** Reads the consent page as a browser would and submits it with the chosen user and button. */
async function decide(base: string, token: string, choice: { userId?: string; action: 'approve' | 'cancel' }) {
  const page = await send(`${base}/oauth/authenticate?oauth_token=${encodeURIComponent(token)}`);
  const hidden = /<input type="hidden" name="oauth_token" value="([^"]*)">/.exec(page.text)?.[1];
  const firstUser = /<input type="radio" name="user_id" value="([^"]*)" checked>/.exec(page.text)?.[1];
  const answer = await send(`${base}/oauth/authenticate?oauth_token=${encodeURIComponent(token)}`, {
    method: 'POST',
    form: { oauth_token: hidden ?? '', user_id: choice.userId ?? firstUser ?? '', action: choice.action },
  });
  return { page, answer, location: answer.headers.get('location') ?? '' };
}

async function accessToken(base: string, request: Pair, verifier: string, where: 'header' | 'body' = 'header', signer = sign) {
  const url = `${base}/oauth/access_token`;
  const params = { oauth_verifier: verifier };
  const answer = await send(url, {
    method: 'POST',
    authorization: signer('POST', url, where === 'header' ? { token: request, header: params } : { token: request, body: params }),
    ...(where === 'body' ? { form: params } : {}),
  });
  const form = new URLSearchParams(answer.text);
  return { ...answer, form, pair: { token: form.get('oauth_token') ?? '', secret: form.get('oauth_token_secret') ?? '' } };
}

async function verifyCredentials(base: string, access: Pair, query = VERIFY_QUERY) {
  const url = `${base}/1.1/account/verify_credentials.json?${query}`;
  return send(url, { authorization: sign('GET', url, { token: access }) });
}

/** The three legs, approving as `userId`; returns the access token pair. */
async function signIn(base: string, userId: string) {
  const leg1 = await requestToken(base);
  const leg2 = await decide(base, leg1.token, { userId, action: 'approve' });
  const verifier = new URL(leg2.location).searchParams.get('oauth_verifier') ?? '';
  const leg3 = await accessToken(base, leg1, verifier);
  return leg3.pair;
}

async function startServer(t: Test, options: Partial<SandboxServerOptions> = {}): Promise<SandboxServer & { users: SandboxUser[] }> {
  const users = options.users ?? createDefaultSandboxUsers();
  const server = await startSandboxServer({ consumerKey: CONSUMER.key, consumerSecret: CONSUMER.secret, ...options, users });
  t.teardown(() => server.close());
  return { ...server, users };
}

// The subtest type, taken from t.test's callback (tap's plugins are mixed in).
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

t.test('default users have ids past 2^53, confirmed emails, and one has no email', async (t) => {
  const users = createDefaultSandboxUsers();
  t.equal(users.length, 3);
  for (const user of users) {
    t.match(user.id_str, /^[1-9][0-9]+$/);
    t.ok(BigInt(user.id_str) > BigInt(Number.MAX_SAFE_INTEGER), `${user.id_str} is past 2^53`);
  }
  t.equal(new Set(users.map((user) => user.id_str)).size, 3, 'ids are distinct');
  t.equal(users.filter((user) => user.email === null).length, 1);
  for (const user of users) t.equal(user.email_confirmed, user.email !== null, `${user.screen_name}: an email is a confirmed one`);
  t.not(createDefaultSandboxUsers()[0], users[0], 'fresh objects on every call');
});

t.test('the full three legs, consent through the HTML form, then verify_credentials', async (t) => {
  const server = await startServer(t);
  t.match(server.url, /^http:\/\/127\.0\.0\.1:[0-9]+$/);
  const alice = server.users[0] as SandboxUser;
  const bob = server.users[1] as SandboxUser;

  const leg1 = await requestToken(server.url);
  t.equal(leg1.status, 200);
  t.equal(leg1.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(leg1.text, /^oauth_token=[A-Za-z0-9_-]{20,}&oauth_token_secret=[A-Za-z0-9_-]{20,}&oauth_callback_confirmed=true$/);
  t.not(leg1.token, leg1.secret);

  const leg2 = await decide(server.url, leg1.token, { userId: bob.id_str, action: 'approve' });
  t.equal(leg2.page.status, 200);
  t.equal(leg2.page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.equal(leg2.page.headers.get('cache-control'), 'no-store');
  t.equal(leg2.page.headers.get('x-frame-options'), 'DENY');
  t.match(leg2.page.headers.get('content-security-policy'), /default-src 'none'; style-src 'unsafe-inline'; form-action \*/);
  t.match(leg2.page.text, /<html lang="en">/);
  t.match(leg2.page.text, /sandbox/i, 'the banner says it is the sandbox');
  t.match(leg2.page.text, /<h1>[^<]+<\/h1>/);
  t.match(leg2.page.text, /<form method="post">/);
  t.match(leg2.page.text, `<input type="hidden" name="oauth_token" value="${leg1.token}">`);
  t.match(leg2.page.text, `<label><input type="radio" name="user_id" value="${alice.id_str}" checked> ${alice.name}`);
  t.match(leg2.page.text, `<input type="radio" name="user_id" value="${bob.id_str}">`);
  t.equal(leg2.page.text.match(/type="radio"/g)?.length, 3, 'one radio button per user');
  t.match(leg2.page.text, '<button type="submit" name="action" value="approve">Approve</button>');
  t.match(leg2.page.text, '<button type="submit" name="action" value="cancel">Cancel</button>');
  t.match(leg2.page.text, 'http://app.test', 'names where the user is sent back');

  t.equal(leg2.answer.status, 302);
  t.equal(leg2.answer.headers.get('cache-control'), 'no-store');
  const location = new URL(leg2.location);
  t.equal(`${location.origin}${location.pathname}`, CALLBACK);
  t.equal(location.searchParams.get('oauth_token'), leg1.token);
  const verifier = location.searchParams.get('oauth_verifier') ?? '';
  t.match(verifier, /^[A-Za-z0-9_-]{20,}$/);

  const leg3 = await accessToken(server.url, leg1, verifier);
  t.equal(leg3.status, 200);
  t.equal(leg3.headers.get('content-type'), 'text/html; charset=utf-8');
  t.same([...leg3.form.keys()], ['oauth_token', 'oauth_token_secret', 'user_id', 'screen_name']);
  t.equal(leg3.form.get('user_id'), bob.id_str);
  t.equal(leg3.form.get('screen_name'), bob.screen_name);
  t.ok(leg3.pair.token.startsWith(`${bob.id_str}-`), 'access tokens start with the user id, as on Twitter');
  t.not(leg3.pair.token, leg1.token);

  const profile = await verifyCredentials(server.url, leg3.pair);
  t.equal(profile.status, 200);
  t.match(profile.headers.get('content-type'), /^application\/json/);
  t.same(JSON.parse(profile.text), {
    id: Number(bob.id_str),
    id_str: bob.id_str,
    name: bob.name,
    screen_name: bob.screen_name,
    profile_image_url_https: bob.profile_image_url_https,
    email: bob.email,
  });
  t.match(profile.text, `"id_str":"${bob.id_str}"`, 'id_str is the exact decimal string');
});

t.test('cancel sends the browser back with denied, and the token is gone', async (t) => {
  const server = await startServer(t);
  const leg1 = await requestToken(server.url);
  const leg2 = await decide(server.url, leg1.token, { action: 'cancel' });
  t.equal(leg2.answer.status, 302);
  t.equal(leg2.location, `${CALLBACK}?denied=${leg1.token}`);
  const page = await send(`${server.url}/oauth/authenticate?oauth_token=${leg1.token}`);
  t.equal(page.status, 400);
  const exchange = await accessToken(server.url, leg1, 'anything');
  t.equal(exchange.status, 401);
  t.same(twitterError(exchange.text), [{ code: 89, message: 'Invalid or expired token.' }]);
});

t.test('a callback with a query and a fragment keeps both', async (t) => {
  const server = await startServer(t);
  const callback = 'https://app.test/cb?next=%2Fhome&x=a+b#frag';
  const approved = await decide(server.url, (await requestToken(server.url, { callback })).token, { action: 'approve' });
  t.match(approved.location, /^https:\/\/app\.test\/cb\?next=%2Fhome&x=a\+b&oauth_token=[A-Za-z0-9_-]+&oauth_verifier=[A-Za-z0-9_-]+#frag$/);
  const trailing = 'https://app.test/cb?';
  const request = await requestToken(server.url, { callback: trailing });
  const denied = await decide(server.url, request.token, { action: 'cancel' });
  t.equal(denied.location, `https://app.test/cb?denied=${request.token}`);
});

t.test('signature failures', async (t) => {
  const server = await startServer(t);
  const url = `${server.url}/oauth/request_token`;
  const expectError = async (t: Test, authorization: string | undefined, status: number, code: number, message: string) => {
    const answer = await send(url, { method: 'POST', ...(authorization === undefined ? {} : { authorization }) });
    t.equal(answer.status, status);
    t.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
    t.same(twitterError(answer.text), [{ code, message }]);
  };
  const header = { oauth_callback: CALLBACK };

  t.test('wrong consumer secret: 32', (t) =>
    expectError(t, createSigner({ consumer: { key: CONSUMER.key, secret: 'wrong' } })('POST', url, { header }), 401, 32, 'Could not authenticate you.'));
  t.test('unknown consumer key: 32', (t) =>
    expectError(t, createSigner({ consumer: { key: 'other', secret: CONSUMER.secret } })('POST', url, { header }), 401, 32, 'Could not authenticate you.'));
  t.test('signed for another URL: 32', (t) =>
    expectError(t, sign('POST', `${server.url}/oauth/request_token2`, { header }), 401, 32, 'Could not authenticate you.'));
  t.test('signed for another method: 32', (t) => expectError(t, sign('GET', url, { header }), 401, 32, 'Could not authenticate you.'));
  t.test('a parameter changed after signing: 32', (t) =>
    expectError(t, sign('POST', url, { header }).replace(encodeURIComponent(CALLBACK), encodeURIComponent('http://evil.test/')), 401, 32, 'Could not authenticate you.'));
  t.test('timestamp 301 s behind: 135', (t) =>
    expectError(t, createSigner({ clock: () => Date.now() - 301_000 })('POST', url, { header }), 401, 135, 'Timestamp out of bounds.'));
  t.test('timestamp 301 s ahead: 135', (t) =>
    expectError(t, createSigner({ clock: () => Date.now() + 301_000 })('POST', url, { header }), 401, 135, 'Timestamp out of bounds.'));
  t.test('timestamp 200 s behind is within the window', async (t) => {
    const answer = await requestToken(server.url, { signer: createSigner({ clock: () => Date.now() - 200_000 }) });
    t.equal(answer.status, 200);
  });
  t.test('timestamp not a number: 215', (t) =>
    expectError(t, sign('POST', url, { header }).replace(/oauth_timestamp="\d+"/, 'oauth_timestamp="soon"'), 400, 215, 'Bad Authentication data.'));
  t.test('no Authorization header: 215', (t) => expectError(t, undefined, 400, 215, 'Bad Authentication data.'));
  t.test('garbage header: 215', (t) => expectError(t, 'OAuth this is not it', 400, 215, 'Bad Authentication data.'));
  t.test('another scheme: 215', (t) => expectError(t, 'Bearer abc', 400, 215, 'Bad Authentication data.'));
  t.test('a repeated parameter: 215', (t) => {
    const signed = sign('POST', url, { header });
    return expectError(t, `${signed}, ${/oauth_nonce="[^"]*"/.exec(signed)?.[0]}`, 400, 215, 'Bad Authentication data.');
  });
  t.test('no nonce: 215', (t) =>
    expectError(t, sign('POST', url, { header }).replace(/oauth_nonce="[^"]*", /, ''), 400, 215, 'Bad Authentication data.'));
  t.test('PLAINTEXT: 215', (t) => expectError(t, createSigner({ signatureMethod: 'PLAINTEXT' })('POST', url, { header }), 400, 215, 'Bad Authentication data.'));
  t.test('oauth_version 2.0: 215', (t) => expectError(t, createSigner({ version: '2.0' })('POST', url, { header }), 400, 215, 'Bad Authentication data.'));
  t.test('oauth_version may be left out', async (t) => {
    const answer = await send(url, { method: 'POST', authorization: signByHand('POST', url, freshProtocolParams({ oauth_callback: CALLBACK })) });
    t.equal(answer.status, 200, answer.text);
    t.match(answer.text, /oauth_callback_confirmed=true$/);
  });
  t.test('request_token with an oauth_token: 215', (t) =>
    expectError(t, sign('POST', url, { header, token: { token: 'x', secret: '' } }), 400, 215, 'Bad Authentication data.'));
  t.test('request_token without oauth_callback: 215', (t) => expectError(t, sign('POST', url), 400, 215, 'Bad Authentication data.'));
  t.test('oauth_callback oob is not supported: 215', (t) =>
    expectError(t, sign('POST', url, { header: { oauth_callback: 'oob' } }), 400, 215, 'Bad Authentication data.'));
  t.test('oauth_callback not http(s): 215', (t) =>
    expectError(t, sign('POST', url, { header: { oauth_callback: 'javascript:alert(1)' } }), 400, 215, 'Bad Authentication data.'));
});

t.test('a replayed request is refused (nonce seen)', async (t) => {
  const server = await startServer(t);
  const url = `${server.url}/oauth/request_token`;
  const authorization = sign('POST', url, { header: { oauth_callback: CALLBACK } });
  const first = await send(url, { method: 'POST', authorization });
  t.equal(first.status, 200);
  const replay = await send(url, { method: 'POST', authorization });
  t.equal(replay.status, 401);
  t.same(twitterError(replay.text), [{ code: 32, message: 'Could not authenticate you.' }]);

  const access = await signIn(server.url, server.users[0]?.id_str ?? '');
  const verifyUrl = `${server.url}/1.1/account/verify_credentials.json?${VERIFY_QUERY}`;
  const signed = sign('GET', verifyUrl, { token: access });
  t.equal((await send(verifyUrl, { authorization: signed })).status, 200);
  const again = await send(verifyUrl, { authorization: signed });
  t.equal(again.status, 401);
  t.same(twitterError(again.text), [{ code: 32, message: 'Could not authenticate you.' }]);
});

t.test('a forged request does not burn the nonce of a genuine one', async (t) => {
  const server = await startServer(t);
  const url = `${server.url}/oauth/request_token`;
  const authorization = sign('POST', url, { header: { oauth_callback: CALLBACK } });
  const forged = authorization.replace(/oauth_signature="[^"]*"/, 'oauth_signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"');
  t.equal((await send(url, { method: 'POST', authorization: forged })).status, 401);
  t.equal((await send(url, { method: 'POST', authorization })).status, 200);
});

t.test('access_token', async (t) => {
  const server = await startServer(t);
  const approve = async () => {
    const leg1 = await requestToken(server.url);
    const leg2 = await decide(server.url, leg1.token, { action: 'approve' });
    return { request: { token: leg1.token, secret: leg1.secret }, verifier: new URL(leg2.location).searchParams.get('oauth_verifier') ?? '' };
  };

  t.test('a request token works once: 89 the second time', async (t) => {
    const { request, verifier } = await approve();
    t.equal((await accessToken(server.url, request, verifier)).status, 200);
    const second = await accessToken(server.url, request, verifier);
    t.equal(second.status, 401);
    t.same(twitterError(second.text), [{ code: 89, message: 'Invalid or expired token.' }]);
  });

  t.test('a wrong verifier: 401 with Twitter text, and the token is spent', async (t) => {
    const { request, verifier } = await approve();
    const wrong = await accessToken(server.url, request, `${verifier}x`);
    t.equal(wrong.status, 401);
    t.match(wrong.headers.get('content-type'), /^text\/plain/);
    t.equal(wrong.text, 'Error processing your OAuth request: Invalid oauth_verifier parameter');
    const retry = await accessToken(server.url, request, verifier);
    t.equal(retry.status, 401);
    t.same(twitterError(retry.text), [{ code: 89, message: 'Invalid or expired token.' }]);
  });

  t.test('no verifier: 401', async (t) => {
    const { request } = await approve();
    const url = `${server.url}/oauth/access_token`;
    const answer = await send(url, { method: 'POST', authorization: sign('POST', url, { token: request }) });
    t.equal(answer.status, 401);
    t.equal(answer.text, 'Error processing your OAuth request: Invalid oauth_verifier parameter');
  });

  t.test('a token the user never approved: 401 invalid verifier', async (t) => {
    const leg1 = await requestToken(server.url);
    const answer = await accessToken(server.url, leg1, 'guess');
    t.equal(answer.status, 401);
    t.equal(answer.text, 'Error processing your OAuth request: Invalid oauth_verifier parameter');
  });

  t.test('the verifier in the form body works (and is signed)', async (t) => {
    const { request, verifier } = await approve();
    const answer = await accessToken(server.url, request, verifier, 'body');
    t.equal(answer.status, 200, answer.text);
    t.equal(answer.form.get('user_id'), server.users[0]?.id_str);
  });

  t.test('a body verifier that was not signed: 32', async (t) => {
    const { request, verifier } = await approve();
    const url = `${server.url}/oauth/access_token`;
    const answer = await send(url, { method: 'POST', authorization: sign('POST', url, { token: request }), form: { oauth_verifier: verifier } });
    t.equal(answer.status, 401);
    t.same(twitterError(answer.text), [{ code: 32, message: 'Could not authenticate you.' }]);
  });

  t.test('a verifier in both the header and the body: 215', async (t) => {
    const { request, verifier } = await approve();
    const url = `${server.url}/oauth/access_token`;
    const authorization = signByHand(
      'POST',
      url,
      freshProtocolParams({ oauth_token: request.token, oauth_verifier: verifier, oauth_version: '1.0' }),
      [['oauth_verifier', verifier]],
      request.secret,
    );
    const answer = await send(url, { method: 'POST', authorization, form: { oauth_verifier: verifier } });
    t.equal(answer.status, 400);
    t.same(twitterError(answer.text), [{ code: 215, message: 'Bad Authentication data.' }]);
  });

  t.test('signed with the wrong token secret: 32', async (t) => {
    const { request, verifier } = await approve();
    const answer = await accessToken(server.url, { token: request.token, secret: 'nope' }, verifier);
    t.equal(answer.status, 401);
    t.same(twitterError(answer.text), [{ code: 32, message: 'Could not authenticate you.' }]);
  });

  t.test('no oauth_token: 215', async (t) => {
    const url = `${server.url}/oauth/access_token`;
    const answer = await send(url, { method: 'POST', authorization: sign('POST', url, { header: { oauth_verifier: 'x' } }) });
    t.equal(answer.status, 400);
    t.same(twitterError(answer.text), [{ code: 215, message: 'Bad Authentication data.' }]);
  });

  t.test('the user was removed after approving: 89', async (t) => {
    const users = createDefaultSandboxUsers();
    const own = await startServer(t, { users });
    const leg1 = await requestToken(own.url);
    const leg2 = await decide(own.url, leg1.token, { userId: users[2]?.id_str ?? '', action: 'approve' });
    users.pop();
    const answer = await accessToken(own.url, leg1, new URL(leg2.location).searchParams.get('oauth_verifier') ?? '');
    t.equal(answer.status, 401);
    t.same(twitterError(answer.text), [{ code: 89, message: 'Invalid or expired token.' }]);
  });
});

t.test('the same user gets the same access token on every sign-in; another user another', async (t) => {
  const server = await startServer(t);
  const [alice, bob] = server.users as [SandboxUser, SandboxUser];
  const first = await signIn(server.url, alice.id_str);
  const second = await signIn(server.url, alice.id_str);
  t.same(second, first);
  t.ok(first.token.length > 0 && first.secret.length > 0);
  const other = await signIn(server.url, bob.id_str);
  t.not(other.token, first.token);
  t.not(other.secret, first.secret);
});

t.test('verify_credentials reads the users live and signs its query', async (t) => {
  const server = await startServer(t);
  const [alice, , carol] = server.users as [SandboxUser, SandboxUser, SandboxUser];
  const access = await signIn(server.url, alice.id_str);
  alice.screen_name = 'alice_renamed';
  alice.name = 'Alice <Renamed>';
  const renamed = JSON.parse((await verifyCredentials(server.url, access)).text) as Record<string, unknown>;
  t.equal(renamed.screen_name, 'alice_renamed');
  t.equal(renamed.name, 'Alice <Renamed>');
  t.equal(renamed.id_str, alice.id_str);

  const withoutEmail = JSON.parse((await verifyCredentials(server.url, access, 'skip_status=true')).text) as Record<string, unknown>;
  t.notOk('email' in withoutEmail, 'no email unless include_email=true');
  t.equal(withoutEmail.screen_name, 'alice_renamed');

  const asked = (query: string) => verifyCredentials(server.url, access, query).then((answer) => JSON.parse(answer.text) as Record<string, unknown>);
  t.notOk('email' in (await asked('include_email=false')), 'include_email=false: no email');
  t.notOk('email' in (await asked('include_email=yes')), 'only true, t and 1 are true');
  t.equal((await asked('include_email=t')).email, alice.email);
  t.equal((await asked('include_email=1')).email, alice.email);
  alice.email_confirmed = false;
  t.equal((await asked('include_email=true')).email, null, 'an unconfirmed address is null, as Twitter answers it');
  alice.email_confirmed = true;

  const carolAccess = await signIn(server.url, carol.id_str);
  const carolProfile = JSON.parse((await verifyCredentials(server.url, carolAccess)).text) as Record<string, unknown>;
  t.equal(carolProfile.email, null, 'a user without email gets null');
  t.equal(carolProfile.profile_image_url_https, null);

  const url = `${server.url}/1.1/account/verify_credentials.json?${VERIFY_QUERY}`;
  const tampered = await send(`${server.url}/1.1/account/verify_credentials.json?include_email=false`, {
    authorization: sign('GET', url, { token: access }),
  });
  t.equal(tampered.status, 401, 'the query is part of the signature');
  t.same(twitterError(tampered.text), [{ code: 32, message: 'Could not authenticate you.' }]);

  const unknown = await verifyCredentials(server.url, { token: 'not-a-token', secret: access.secret });
  t.equal(unknown.status, 401);
  t.same(twitterError(unknown.text), [{ code: 89, message: 'Invalid or expired token.' }]);

  const requestPair = await requestToken(server.url);
  const withRequestToken = await verifyCredentials(server.url, requestPair);
  t.equal(withRequestToken.status, 401, 'a request token is not an access token');
  t.same(twitterError(withRequestToken.text), [{ code: 89, message: 'Invalid or expired token.' }]);

  server.users.splice(0, 1);
  const removed = await verifyCredentials(server.url, access);
  t.equal(removed.status, 401);
  t.same(twitterError(removed.text), [{ code: 89, message: 'Invalid or expired token.' }]);
});

t.test('allowedCallbacks: an unlisted callback gets 415 with HTTP 403', async (t) => {
  const server = await startServer(t, { allowedCallbacks: [CALLBACK] });
  const refused = await requestToken(server.url, { callback: 'http://elsewhere.test/login/callback' });
  t.equal(refused.status, 403);
  t.same(twitterError(refused.text), [
    {
      code: 415,
      message: 'Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings',
    },
  ]);
  const prefixOnly = await requestToken(server.url, { callback: `${CALLBACK}/extra` });
  t.equal(prefixOnly.status, 403, 'exact match, not prefix');
  t.equal((await requestToken(server.url)).status, 200);
});

t.test('the consent page and form refuse what they do not know', async (t) => {
  const server = await startServer(t);
  const expectPage = (t: Test, answer: Awaited<ReturnType<typeof send>>, text: RegExp) => {
    t.equal(answer.status, 400);
    t.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
    t.equal(answer.headers.get('cache-control'), 'no-store');
    t.match(answer.text, text);
  };
  expectPage(t, await send(`${server.url}/oauth/authenticate?oauth_token=unknown`), /unknown or expired/);
  expectPage(t, await send(`${server.url}/oauth/authenticate`), /unknown or expired/);
  expectPage(t, await send(`${server.url}/oauth/authenticate?oauth_token=a&oauth_token=b`), /unknown or expired/);
  const post = (form: Record<string, string>) => send(`${server.url}/oauth/authenticate`, { method: 'POST', form });
  expectPage(t, await post({ oauth_token: 'unknown', user_id: server.users[0]?.id_str ?? '', action: 'approve' }), /unknown or expired/);

  const leg1 = await requestToken(server.url);
  expectPage(t, await post({ oauth_token: leg1.token, user_id: '42', action: 'approve' }), /Unknown account/);
  expectPage(t, await post({ oauth_token: leg1.token, action: 'approve' }), /Unknown account/);
  expectPage(t, await post({ oauth_token: leg1.token, user_id: server.users[0]?.id_str ?? '', action: 'delete' }), /Unknown action/);
  expectPage(
    t,
    await send(`${server.url}/oauth/authenticate`, { method: 'POST', body: JSON.stringify({ oauth_token: leg1.token, action: 'approve' }), contentType: 'application/json' }),
    /unknown or expired/,
  );

  // Still undecided after the refusals above, so it can be approved once, and only once.
  const approved = await decide(server.url, leg1.token, { action: 'approve' });
  t.equal(approved.answer.status, 302);
  expectPage(t, await send(`${server.url}/oauth/authenticate?oauth_token=${leg1.token}`), /unknown or expired/);
  expectPage(t, await post({ oauth_token: leg1.token, user_id: server.users[0]?.id_str ?? '', action: 'approve' }), /unknown or expired/);
});

t.test('every value on the consent page is HTML-escaped', async (t) => {
  const users = createDefaultSandboxUsers();
  const first = users[0] as SandboxUser;
  first.name = '<script>alert("x")</script>';
  first.screen_name = `a'b&c`;
  first.id_str = '1"><img src=x>';
  const server = await startServer(t, { users });
  const leg1 = await requestToken(server.url, { callback: 'http://app.test/cb?a=<b>' });
  const page = await send(`${server.url}/oauth/authenticate?oauth_token=${leg1.token}`);
  t.notMatch(page.text, /<script>/);
  t.notMatch(page.text, /<img/);
  t.notMatch(page.text, /<b>/);
  t.match(page.text, '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
  t.match(page.text, '@a&#39;b&#38;c');
  t.match(page.text, 'value="1&#34;&#62;&#60;img src=x&#62;"');
});

t.test('request tokens expire after 10 minutes', async (t) => {
  let skew = 0;
  const clock = () => Date.now() + skew;
  const server = await startServer(t, { now: clock });
  const signer = createSigner({ clock });
  const leg1 = await requestToken(server.url, { signer });
  skew = 9 * 60 * 1000;
  t.equal((await send(`${server.url}/oauth/authenticate?oauth_token=${leg1.token}`)).status, 200, 'still valid after 9 minutes');
  const leg2 = await decide(server.url, leg1.token, { action: 'approve' });
  skew = 10 * 60 * 1000 + 1000;
  const late = await accessToken(server.url, leg1, new URL(leg2.location).searchParams.get('oauth_verifier') ?? '', 'header', signer);
  t.equal(late.status, 401);
  t.same(twitterError(late.text), [{ code: 89, message: 'Invalid or expired token.' }]);
  const leg1b = await requestToken(server.url, { signer });
  skew += 10 * 60 * 1000 + 1000;
  t.equal((await send(`${server.url}/oauth/authenticate?oauth_token=${leg1b.token}`)).status, 400, 'expired on the consent page');
});

t.test('malformed bodies get a Twitter error, not a crash', async (t) => {
  const server = await startServer(t);
  const url = `${server.url}/oauth/access_token`;
  const broken = await send(url, { method: 'POST', body: '{"oauth_verifier":', contentType: 'application/json' });
  t.equal(broken.status, 400);
  t.same(twitterError(broken.text), [{ code: 215, message: 'Bad Authentication data.' }]);
  const huge = await send(url, { method: 'POST', body: `a=${'x'.repeat(70 * 1024)}`, contentType: 'application/x-www-form-urlencoded' });
  t.equal(huge.status, 413);
  t.same(twitterError(huge.text), [{ code: 215, message: 'Bad Authentication data.' }]);
});

t.test('an internal failure answers 131 and tells nothing', async (t) => {
  const users = createDefaultSandboxUsers();
  const server = await startServer(t, { users });
  const access = await signIn(server.url, users[0]?.id_str ?? '');
  Object.defineProperty(users[0], 'id_str', {
    get() {
      throw new Error('secret internals');
    },
  });
  const answer = await verifyCredentials(server.url, access);
  t.equal(answer.status, 500);
  t.same(twitterError(answer.text), [{ code: 131, message: 'Internal error.' }]);
  t.notMatch(answer.text, /secret internals/);
});

t.test('mounted under a prefix in another app, with its own parser and error handler kept inside', async (t) => {
  const app = Fastify();
  // A parent form parser, like @fastify/formbody's; the sandbox swaps in its own raw one.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.post('/parent-form', async (request) => ({ body: request.body }));
  app.get('/parent-fails', async () => {
    throw Object.assign(new Error('parent failure'), { statusCode: 418 });
  });
  const users = createDefaultSandboxUsers();
  app.register(sandboxProvider, { prefix: '/sandbox/twitter', consumerKey: CONSUMER.key, consumerSecret: CONSUMER.secret, users });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const base = `${origin}/sandbox/twitter`;

  const leg1 = await requestToken(base);
  t.equal(leg1.status, 200, 'the signed URL is rebuilt from Host and prefix');
  const leg2 = await decide(base, leg1.token, { action: 'approve' });
  const leg3 = await accessToken(base, leg1, new URL(leg2.location).searchParams.get('oauth_verifier') ?? '', 'body');
  t.equal(leg3.status, 200, 'the raw form body is signed even though the parent parses forms');
  t.equal((await verifyCredentials(base, leg3.pair)).status, 200);

  const parentForm = await send(`${origin}/parent-form`, { method: 'POST', form: { a: '1' } });
  t.same(JSON.parse(parentForm.text), { body: { a: '1' } }, "the parent's parser is untouched");
  const parentError = await send(`${origin}/parent-fails`);
  t.equal(parentError.status, 418);
  t.match(JSON.parse(parentError.text), { message: 'parent failure' }, "the parent's error handler is untouched");
});

t.test('baseUrl: the signature is checked against the public URL, not the one the socket saw', async (t) => {
  t.test('standalone', async (t) => {
    const server = await startServer(t, { baseUrl: 'https://roost.example/sandbox/twitter/' });
    const local = `${server.url}/oauth/request_token`;
    const publicUrl = 'https://roost.example/sandbox/twitter/oauth/request_token';
    const header = { oauth_callback: CALLBACK };
    t.equal((await send(local, { method: 'POST', authorization: sign('POST', publicUrl, { header }) })).status, 200);
    t.equal((await send(local, { method: 'POST', authorization: sign('POST', local, { header }) })).status, 401);
    const defaultPort = 'https://ROOST.example:443/sandbox/twitter/oauth/request_token';
    t.equal((await send(local, { method: 'POST', authorization: sign('POST', defaultPort, { header }) })).status, 401, 'the client must sign the normalized URI');
  });

  t.test('mounted as roost mounts it, behind a TLS proxy', async (t) => {
    const app = Fastify();
    const publicBase = 'https://roost.example/sandbox/twitter';
    app.register(sandboxProvider, { prefix: '/sandbox/twitter', baseUrl: publicBase, consumerKey: CONSUMER.key, consumerSecret: CONSUMER.secret, users: [] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const local = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/sandbox/twitter/oauth/request_token`;
    const header = { oauth_callback: CALLBACK };
    t.equal((await send(local, { method: 'POST', authorization: sign('POST', `${publicBase}/oauth/request_token`, { header }) })).status, 200);
    t.equal((await send(local, { method: 'POST', authorization: sign('POST', local, { header }) })).status, 401);
  });
});

t.test('a Host header that makes no URL: 215', async (t) => {
  const app = Fastify();
  app.register(sandboxProvider, { consumerKey: CONSUMER.key, consumerSecret: CONSUMER.secret, users: createDefaultSandboxUsers() });
  t.teardown(() => app.close());
  const answer = await app.inject({
    method: 'POST',
    url: '/oauth/request_token',
    headers: { host: 'bad host', authorization: sign('POST', 'http://bad host/oauth/request_token', { header: { oauth_callback: CALLBACK } }) },
  });
  t.equal(answer.statusCode, 400);
  t.same(twitterError(answer.body), [{ code: 215, message: 'Bad Authentication data.' }]);
});

t.test('startSandboxServer on IPv6 brackets the address', async (t) => {
  const server = await startSandboxServer({ consumerKey: CONSUMER.key, consumerSecret: CONSUMER.secret, users: createDefaultSandboxUsers(), host: '::1' }).catch(
    (error: NodeJS.ErrnoException) => {
      // Some containers have no IPv6 loopback; nothing to check there.
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') return undefined;
      throw error;
    },
  );
  if (server === undefined) return t.plan(0, 'no IPv6 loopback here');
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/\[::1\]:[0-9]+$/);
  t.equal((await requestToken(server.url)).status, 200);
});

t.test('startSandboxServer reports a port already taken', async (t) => {
  const server = await startServer(t);
  const port = Number(new URL(server.url).port);
  await t.rejects(startSandboxServer({ consumerKey: 'k', consumerSecret: 's', users: [], port }), { code: 'EADDRINUSE' });
});
