import t from 'tap';
import {
  describeOAuth2Failure,
  loggableOAuth2Message,
  parseApiError,
  parseOAuth2Error,
  parseTokenAnswer,
  parseUsersMe,
  rateLimitWait,
} from '../../../src/twitter/oauth2-responses.js';

const TOKEN = 'bWRWa3gzdnk3WlFiWGZPQ0RhTHJzZlM3ZjhnXzZSVGZkMU1vR3R5b3hYdTdrOjE2NzI6MTowOmF0OjE';

t.test('token answers: what X sends is read', async (t) => {
  t.same(parseTokenAnswer(JSON.stringify({ token_type: 'bearer', expires_in: 7200, access_token: TOKEN, scope: 'users.read tweet.read' })), {
    ok: true,
    value: { accessToken: TOKEN, expiresIn: 7200, scopes: ['users.read', 'tweet.read'] },
  });
  // RFC 6749 §7.1: the type is case-insensitive; §5.1: expires_in and scope are optional.
  t.same(parseTokenAnswer(JSON.stringify({ token_type: 'Bearer', access_token: 'abc.DEF-_~+/==' })), {
    ok: true,
    value: { accessToken: 'abc.DEF-_~+/==', expiresIn: undefined, scopes: undefined },
  });
});

t.test('token answers: anything odd is unusable', async (t) => {
  const base = { token_type: 'bearer', expires_in: 7200, access_token: TOKEN, scope: 'users.read' };
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', 'access_token=abc', /not a JSON object/],
    ['an array', [base], /not a JSON object/],
    ['no token_type', { ...base, token_type: undefined }, /token_type/],
    ['a mac token', { ...base, token_type: 'mac' }, /token_type/],
    ['no access_token', { ...base, access_token: undefined }, /access_token/],
    ['an empty access_token', { ...base, access_token: '' }, /access_token/],
    ['a numeric access_token', { ...base, access_token: 12345 }, /access_token/],
    ['a space in the access_token', { ...base, access_token: 'ab cd' }, /access_token/],
    ['a newline in the access_token', { ...base, access_token: 'ab\r\nX-Injected: 1' }, /access_token/],
    ['a huge access_token', { ...base, access_token: 'a'.repeat(4097) }, /access_token/],
    ['expires_in as a string', { ...base, expires_in: '7200' }, /expires_in/],
    ['expires_in zero', { ...base, expires_in: 0 }, /expires_in/],
    ['expires_in fractional', { ...base, expires_in: 1.5 }, /expires_in/],
    ['scope as a list', { ...base, scope: ['users.read'] }, /scope is not a string/],
    ['scope with a double space', { ...base, scope: 'users.read  tweet.read' }, /scope is malformed/],
    ['scope with a quote', { ...base, scope: 'users."read' }, /scope is malformed/],
  ];
  for (const [name, value, reason] of cases) {
    t.match(parseTokenAnswer(typeof value === 'string' ? value : JSON.stringify(value)), { ok: false, reason }, name);
  }
});

t.test('RFC 6749 §5.2 errors', async (t) => {
  t.same(parseOAuth2Error('{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid."}'), {
    error: 'invalid_request',
    description: 'Value passed for the authorization code was invalid.',
  });
  t.same(parseOAuth2Error('{"error":"invalid_client"}'), { error: 'invalid_client', description: undefined });
  t.same(parseOAuth2Error('{"error":"bad\\"quote"}'), { error: undefined, description: undefined }, 'an error outside NQSCHAR is not believed');
  t.same(parseOAuth2Error('{"error":42,"error_description":7}'), { error: undefined, description: undefined });
  t.same(parseOAuth2Error('<html>Bad Gateway</html>'), { error: undefined, description: undefined });
  t.same(parseOAuth2Error(''), { error: undefined, description: undefined });
});

t.test('X API v2 errors in each of their shapes', async (t) => {
  t.same(parseApiError('{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}'), {
    code: undefined,
    message: 'Unauthorized: Unauthorized',
    kind: 'about:blank',
  });
  t.same(parseApiError('{"errors":[{"code":88,"message":"Rate limit exceeded"}]}'), { code: 88, message: 'Rate limit exceeded', kind: undefined });
  t.same(
    parseApiError('{"client_id":"1","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.","reason":"client-not-enrolled","title":"Client Forbidden","type":"https://api.twitter.com/2/problems/client-forbidden"}'),
    {
      code: undefined,
      message: 'Client Forbidden: When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.',
      kind: 'client-not-enrolled https://api.twitter.com/2/problems/client-forbidden',
    },
  );
  t.same(parseApiError('{"errors":[{"title":"Forbidden","detail":"User has been suspended: [42].","type":"https://api.twitter.com/2/problems/resource-not-found"}]}'), {
    code: undefined,
    message: 'Forbidden: User has been suspended: [42].',
    kind: 'https://api.twitter.com/2/problems/resource-not-found',
  });
  t.same(parseApiError('nope'), { code: undefined, message: undefined, kind: undefined });
  t.same(parseApiError('{"errors":[]}'), { code: undefined, message: undefined, kind: undefined });
});

t.test('/2/users/me answers', async (t) => {
  const data = {
    id: '9007199254740993',
    name: 'Ann',
    username: 'ann',
    profile_image_url: 'https://pbs.twimg.com/profile_images/1/a_normal.png',
    confirmed_email: 'ann@example.com',
  };
  t.same(parseUsersMe(JSON.stringify({ data })), {
    ok: true,
    value: { twitterId: '9007199254740993', screenName: 'ann', name: 'Ann', picture: 'https://pbs.twimg.com/profile_images/1/a_normal.png', email: 'ann@example.com' },
  });
  t.match(parseUsersMe(JSON.stringify({ data: { id: '12', username: 'min' } })), { ok: true, value: { name: 'min', picture: null, email: null } }, 'optional fields');
  t.match(parseUsersMe(JSON.stringify({ data: { ...data, profile_image_url: 'http://pbs.twimg.com/a.png' } })), { ok: true, value: { picture: null } }, 'only https pictures');
  t.match(parseUsersMe(JSON.stringify({ data: { ...data, profile_image_url: 'javascript:alert(1)' } })), { ok: true, value: { picture: null } });
  t.match(parseUsersMe(JSON.stringify({ data: { ...data, confirmed_email: 'not-an-address' } })), { ok: true, value: { email: null } });
  t.match(parseUsersMe(JSON.stringify({ data: { ...data, confirmed_email: `${'a'.repeat(320)}@x` } })), { ok: true, value: { email: null } });
  t.equal((parseUsersMe(JSON.stringify({ data: { ...data, name: 'n'.repeat(500) } })) as { value: { name: string } }).value.name.length, 200);
  // Partial errors beside the data do not undo it.
  t.match(parseUsersMe(JSON.stringify({ data, errors: [{ title: 'Partial' }] })), { ok: true });

  const refused: Array<[string, unknown, RegExp]> = [
    ['errors and no data', { errors: [{ title: 'Forbidden', detail: 'User has been suspended' }] }, /errors and no user/],
    ['a numeric id', { data: { ...data, id: 9007199254740993 } }, /id/],
    ['an id with a leading zero', { data: { ...data, id: '012' } }, /id/],
    ['an id that is not digits', { data: { ...data, id: '12a' } }, /id/],
    ['no username', { data: { ...data, username: undefined } }, /username/],
    ['an empty username', { data: { ...data, username: '' } }, /username/],
    ['data as a list', { data: [data] }, /no data object/],
    ['the user at the top level', data, /no data object/],
  ];
  for (const [name, value, reason] of refused) t.match(parseUsersMe(JSON.stringify(value)), { ok: false, reason }, name);
  t.match(parseUsersMe('<html>'), { ok: false, reason: /not a JSON object/ });
});

t.test('x-rate-limit-reset becomes a wait', async (t) => {
  const now = 1_700_000_000_000;
  t.same(rateLimitWait('1700000120', now), { resetAtMs: 1_700_000_120_000, seconds: 120 });
  t.same(rateLimitWait(' 1700000000 ', now + 500), { resetAtMs: now + 500, seconds: 1 }, 'a reset just passed still waits a second');
  t.equal(rateLimitWait(undefined, now), undefined);
  t.equal(rateLimitWait('soon', now), undefined);
  t.equal(rateLimitWait('-5', now), undefined);
  t.equal(rateLimitWait('1700000000.5', now), undefined);
  t.equal(rateLimitWait(String(1_700_000_000 + 3 * 86_400), now), undefined, 'a reset days away is not believed');
});

t.test('what each failure means, and for whom', async (t) => {
  const callbackUrl = 'https://auth.example.com/login/callback';
  const token = (status: number, error?: string, said?: string) => describeOAuth2Failure({ endpoint: '2/oauth2/token', status, error, said, callbackUrl });
  t.match(token(400, 'invalid_grant'), { code: 'twitter_rejected_verifier', detail: /start again/ });
  t.match(token(400, 'invalid_request', 'Value passed for the authorization code was invalid.'), { code: 'twitter_rejected_verifier' });
  t.match(token(400, 'invalid_request', 'Value passed for the code verifier did not match the code challenge.'), { code: 'twitter_rejected_verifier' });
  t.match(token(401, 'unauthorized_client', 'Missing valid authorization header'), {
    code: 'twitter_auth_failed',
    detail: /\(unauthorized_client: Missing valid authorization header\): check TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET/,
  });
  t.match(token(401, 'invalid_client'), { code: 'twitter_auth_failed', detail: /TWITTER_CLIENT_ID/ });
  t.match(token(401), { code: 'twitter_auth_failed' }, 'a bare 401 at the token endpoint is the client credentials');
  t.match(token(400, 'invalid_request', 'Value passed for the redirect uri did not match the uri of the authorization code.'), {
    code: 'twitter_callback_not_approved',
    detail: /the callback URL https:\/\/auth\.example\.com\/login\/callback is not registered for this client in X's developer portal/,
  });
  t.match(token(400, 'invalid_request', 'Missing required parameter [grant_type].'), { code: 'twitter_bad_authentication_data', detail: /TWITTER_API_URL/ });
  t.match(token(400, 'unsupported_grant_type'), { code: 'twitter_bad_authentication_data' });
  t.match(token(400), { code: 'twitter_unavailable', detail: 'X answered 2/oauth2/token with HTTP 400' });
  t.match(token(500, 'invalid_client'), { code: 'twitter_unavailable', detail: /HTTP 500/ }, 'a 5xx is X failing, whatever its body');
  t.match(token(503), { code: 'twitter_unavailable', detail: 'X answered 2/oauth2/token with HTTP 503' });

  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const limited = describeOAuth2Failure({ endpoint: '2/oauth2/token', status: 429, rateLimit: rateLimitWait(String(now / 1000 + 90), now) });
  t.same(limited, {
    code: 'rate_limited',
    detail: "X's rate limit for 2/oauth2/token is used up until 2026-01-01T12:01:30Z (in 90 s); sign-ins through X resume then",
    retryAfterSeconds: 90,
  });
  t.same(describeOAuth2Failure({ endpoint: '2/users/me', status: 429 }), {
    code: 'rate_limited',
    detail: "X's rate limit for 2/users/me is used up, and X did not say until when; try again in a few minutes",
  });

  const me = (status: number, said?: string, kind?: string) => describeOAuth2Failure({ endpoint: '2/users/me', status, said, kind });
  t.match(me(401, 'Unauthorized: Unauthorized'), { code: 'twitter_token_invalid', detail: /\(HTTP 401: Unauthorized: Unauthorized\); start the sign-in again/ });
  t.match(me(403, 'Client Forbidden', 'client-not-enrolled https://api.twitter.com/2/problems/client-forbidden'), {
    code: 'twitter_app_suspended',
    detail: /attach the app to a Project/,
  });
  t.match(me(403, 'Forbidden'), { code: 'twitter_unavailable', detail: 'X answered 2/users/me with HTTP 403 (Forbidden)' });
  t.match(me(502), { code: 'twitter_unavailable' });

  const revoke = (status: number, error?: string, said?: string) => describeOAuth2Failure({ endpoint: '2/oauth2/revoke', status, error, said });
  t.match(revoke(400, 'invalid_request', 'Value passed for the token was invalid.'), { code: 'twitter_token_invalid', detail: /nothing left to revoke/ });
  t.match(revoke(401, 'unauthorized_client'), { code: 'twitter_auth_failed' });
});

t.test("X's words are made safe to log", async (t) => {
  const code = 'Q2hhbmdlZC1jb2RlLTEyMzQ1Njc4OTA';
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const secret = 's3cr:t +é';
  const echoed = `bad code ${code}, verifier=${verifier}; secret ${secret} (${encodeURIComponent(secret)}, s3cr%3At+%2B%C3%A9)`;
  const safe = loggableOAuth2Message(echoed, code, verifier, secret) ?? '';
  for (const value of [code, verifier, secret, encodeURIComponent(secret)]) t.notMatch(safe, value);
  t.match(safe, /bad code \[token\]/);
  // Parameter values are hidden even when they are not the ones sent.
  t.equal(loggableOAuth2Message('code=abc&code_verifier=def "access_token":"ghi" client_secret: jkl token=mno'), 'code=[redacted]&code_verifier=[redacted] "access_token":[redacted] client_secret: [redacted] token=[redacted]');
  t.equal(loggableOAuth2Message('line\nbreak\u0000'), 'line?break?', 'one printable line');
  t.equal(loggableOAuth2Message('x'.repeat(500))?.length, 200, 'short');
  t.equal(loggableOAuth2Message(undefined, code), undefined);
  t.equal(loggableOAuth2Message('nothing to hide', '', undefined), 'nothing to hide', 'an empty secret blanks nothing');
});
