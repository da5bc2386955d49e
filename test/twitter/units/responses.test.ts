import t from 'tap';
import { clockSkewSeconds, describeTwitterFailure, loggableMessage, parseFormAnswer, parseProfile, parseTwitterError } from '../../../src/twitter/responses.js';

t.test('form answers need each field exactly once', async (t) => {
  t.same(parseFormAnswer('oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=true', ['oauth_token', 'oauth_token_secret']), {
    ok: true,
    value: { oauth_token: 'a', oauth_token_secret: 'b' },
  });
  t.match(parseFormAnswer('oauth_token=a', ['oauth_token', 'oauth_token_secret']), { ok: false, reason: /oauth_token_secret, got 0/ });
  t.match(parseFormAnswer('oauth_token=a&oauth_token=b&oauth_token_secret=c', ['oauth_token', 'oauth_token_secret']), { ok: false, reason: /got 2/ });
  t.match(parseFormAnswer('oauth_token=&oauth_token_secret=c', ['oauth_token', 'oauth_token_secret']), { ok: false, reason: /malformed/ });
  t.match(parseFormAnswer('<html>oops</html>', ['oauth_token']), { ok: false });
  t.match(parseFormAnswer('oauth_token=a%20b', ['oauth_token']), { ok: false, reason: /malformed/ });
});

t.test('Twitter errors in JSON and XML', async (t) => {
  t.same(parseTwitterError('{"errors":[{"code":32,"message":"Could not authenticate you."}]}'), { code: 32, message: 'Could not authenticate you.' });
  t.same(
    parseTwitterError('<?xml version="1.0" encoding="UTF-8"?><errors><error code="415">Callback URL not approved for this client application.</error></errors>'),
    { code: 415, message: 'Callback URL not approved for this client application.' },
  );
  t.same(parseTwitterError('Error processing your OAuth request: Invalid oauth_verifier parameter'), { code: undefined, message: undefined });
  t.same(parseTwitterError('{"errors":"nope"}'), { code: undefined, message: undefined });
  t.same(parseTwitterError('{"errors":[{"code":"32"}]}'), { code: undefined, message: undefined });
});

t.test('profiles take the id from id_str', async (t) => {
  const body = '{"id":1240000000000000001,"id_str":"1240000000000000001","screen_name":"alice","name":"Alice","profile_image_url_https":"https://pbs.example/a.png","email":"alice@example.com"}';
  t.same(parseProfile(body), {
    ok: true,
    value: { twitterId: '1240000000000000001', screenName: 'alice', name: 'Alice', picture: 'https://pbs.example/a.png', email: 'alice@example.com' },
  });
  t.match(parseProfile('{"id":12,"screen_name":"a"}'), { ok: false, reason: /user id/ });
  t.match(parseProfile('{"id_str":"012","screen_name":"a"}'), { ok: false, reason: /user id/ });
  t.match(parseProfile('{"id_str":"12"}'), { ok: false, reason: /username/ });
  t.match(parseProfile('[1]'), { ok: false, reason: /object/ });
  t.match(parseProfile('not json'), { ok: false, reason: /JSON/ });
});

t.test('email and picture are optional and never invented', async (t) => {
  const parsed = parseProfile('{"id_str":"5","screen_name":"b","email":null,"profile_image_url_https":"javascript:alert(1)"}');
  t.same(parsed, { ok: true, value: { twitterId: '5', screenName: 'b', name: 'b', picture: null, email: null } });
  const noEmail = parseProfile('{"id_str":"5","screen_name":"b","name":"B"}');
  t.match(noEmail, { ok: true, value: { email: null, picture: null } });
});

t.test("Twitter's error codes name what to fix", async (t) => {
  const describe = (code: number | undefined, extra = {}) =>
    describeTwitterFailure({ endpoint: 'oauth/request_token', status: 401, error: { code, message: undefined }, ...extra });
  t.match(describe(32), { code: 'twitter_auth_failed', detail: /TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET/ });
  t.match(describe(89), { code: 'twitter_token_invalid' });
  t.match(describe(135), { code: 'twitter_clock_skew', detail: /clock is off; synchronise/ });
  t.match(describe(135, { clockSkewSeconds: -75 }), { detail: /about 75 s behind Twitter's/ });
  t.match(describe(135, { clockSkewSeconds: 4000 }), { detail: /about 4000 s ahead of Twitter's/ });
  t.match(describe(215), { code: 'twitter_bad_authentication_data' });
  t.match(describe(415, { callbackUrl: 'https://auth.example.com/login/callback' }), {
    code: 'twitter_callback_not_approved',
    detail: /register https:\/\/auth\.example\.com\/login\/callback as a callback URL/,
  });
  t.match(describe(416), { code: 'twitter_app_suspended' });
  t.same(describe(88), { code: 'twitter_unavailable', detail: 'Twitter answered oauth/request_token with HTTP 401 (Twitter error 88)' });
  t.same(describe(undefined), { code: 'twitter_unavailable', detail: 'Twitter answered oauth/request_token with HTTP 401' });
  const codes = [32, 89, 135, 215, 415, 416].map((code) => describe(code).code);
  t.equal(new Set(codes).size, 6, 'each code its own problem');
});

t.test('clock skew from the Date header', async (t) => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  t.equal(clockSkewSeconds('Thu, 01 Jan 2026 12:00:00 GMT', now), 0);
  t.equal(clockSkewSeconds('Thu, 01 Jan 2026 11:58:00 GMT', now), 120, 'ahead of Twitter');
  t.equal(clockSkewSeconds('Thu, 01 Jan 2026 12:01:30 GMT', now), -90, 'behind');
  t.equal(clockSkewSeconds(null, now), undefined);
  t.equal(clockSkewSeconds('yesterday', now), undefined);
});

t.test("Twitter's messages are logged short and printable", async (t) => {
  t.equal(loggableMessage('Could not authenticate you.'), 'Could not authenticate you.');
  t.equal(loggableMessage('a\nb\u0000c'), 'a?b?c');
  t.equal(loggableMessage('x'.repeat(500))?.length, 200);
  t.equal(loggableMessage(undefined), undefined);
  t.equal(loggableMessage('Invalid token abc123.', 'abc123'), 'Invalid token [token].');
  t.equal(loggableMessage('token abc123, secret s3cr3t', 'abc123', undefined, '', 's3cr3t'), 'token [token], secret [token]', 'every secret sent is blanked; empty ones blank nothing');
  t.equal(loggableMessage('Bad header OAuth oauth_consumer_key="k", oauth_signature="s%3D"'), 'Bad header OAuth oauth_consumer_key=[redacted], oauth_signature=[redacted]');
  t.equal(loggableMessage('Bad query oauth_token=abc&x=1'), 'Bad query oauth_token=[redacted]&x=1');
  t.equal(loggableMessage('Invalid oauth_verifier parameter'), 'Invalid oauth_verifier parameter');
});

t.test("a profile outside X's formats is unusable, not stored and signed", async (t) => {
  const profile = (fields: Record<string, unknown>) => parseProfile(JSON.stringify({ id_str: '1240000000000000001', screen_name: 'alice', name: 'Alice', ...fields }));
  t.match(profile({ id_str: '1'.repeat(21) }), { ok: false, reason: /user id/ }, 'an id longer than X makes');
  for (const handle of ['<img src=x onerror=alert(1)>', 'a b', 'al\u0000ice', 'ali.ce', '', 'a'.repeat(51)]) {
    t.match(profile({ screen_name: handle }), { ok: false, reason: /username/ }, JSON.stringify(handle));
  }
  t.match(profile({ name: 'Al\u202eice\r\n\u0000' }), { ok: true, value: { name: 'Alice' } }, 'control and bidi characters leave the display name');
  t.match(profile({ name: '\u0007\u200f' }), { ok: true, value: { name: 'alice' } }, 'a name of nothing printable is the handle');
  for (const email of ['<script>@x', 'a@b', 'a b@example.com', 'a@exa"mple.com', `${'a'.repeat(65)}@example.com`, 'a@@example.com']) {
    t.match(profile({ email }), { ok: true, value: { email: null } }, JSON.stringify(email));
  }
  t.match(profile({ email: 'alice+x@example.co.uk' }), { ok: true, value: { email: 'alice+x@example.co.uk' } });
  t.match(profile({ profile_image_url_https: 'http://pbs.example/a.png' }), { ok: true, value: { picture: null } }, 'https pictures only');
  t.match(profile({ profile_image_url_https: 'javascript:alert(1)' }), { ok: true, value: { picture: null } });
});
