import t from 'tap';
import { parseFormAnswer, parseProfile, parseTwitterError } from '../src/twitter-responses.js';

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
  t.match(parseProfile('{"id":12,"screen_name":"a"}'), { ok: false, reason: /id_str/ });
  t.match(parseProfile('{"id_str":"012","screen_name":"a"}'), { ok: false, reason: /id_str/ });
  t.match(parseProfile('{"id_str":"12"}'), { ok: false, reason: /screen_name/ });
  t.match(parseProfile('[1]'), { ok: false, reason: /object/ });
  t.match(parseProfile('not json'), { ok: false, reason: /JSON/ });
});

t.test('email and picture are optional and never invented', async (t) => {
  const parsed = parseProfile('{"id_str":"5","screen_name":"b","email":null,"profile_image_url_https":"javascript:alert(1)"}');
  t.same(parsed, { ok: true, value: { twitterId: '5', screenName: 'b', name: 'b', picture: null, email: null } });
  const noEmail = parseProfile('{"id_str":"5","screen_name":"b","name":"B"}');
  t.match(noEmail, { ok: true, value: { email: null, picture: null } });
});
