import t from 'tap';
import {
  baseStringUri,
  hmacSha1Signature,
  normalizeParameters,
  parseAuthorizationHeader,
  parseFormEncoded,
  percentDecode,
  percentEncode,
  signatureBaseString,
  verifyRequestSignature,
  type Param,
} from '../../../src/sandbox/oauth1-signature.js';

t.test('Twitter known answer: "Implementing Sign in with Twitter" request_token', async (t) => {
  const params: Param[] = [
    ['oauth_callback', 'http://localhost/sign-in-with-twitter/'],
    ['oauth_consumer_key', 'cChZNFj6T5R0TigYB9yd1w'],
    ['oauth_nonce', 'ea9ec8429b68d6b77cd5600adbbb0456'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '1318467427'],
    ['oauth_version', '1.0'],
  ];
  const base = signatureBaseString('POST', 'https://api.twitter.com/oauth/request_token', params);
  t.equal(
    base,
    'POST&https%3A%2F%2Fapi.twitter.com%2Foauth%2Frequest_token&oauth_callback%3Dhttp%253A%252F%252Flocalhost%252Fsign-in-with-twitter%252F%26oauth_consumer_key%3DcChZNFj6T5R0TigYB9yd1w%26oauth_nonce%3Dea9ec8429b68d6b77cd5600adbbb0456%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318467427%26oauth_version%3D1.0',
  );
  t.equal(hmacSha1Signature(base, 'L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg', ''), 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=');
  const request = {
    method: 'POST',
    baseUrl: 'https://api.twitter.com/oauth/request_token',
    params,
    consumerSecret: 'L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg',
    tokenSecret: '',
  };
  t.equal(verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=' }), true);
  t.equal(verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Z=' }), false, 'one character off');
  t.equal(verifyRequestSignature({ ...request, signature: '' }), false, 'empty');
  t.equal(verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=', tokenSecret: 'x' }), false, 'another token secret');
  t.equal(verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=', method: 'GET' }), false, 'another method');
  t.equal(
    verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=', baseUrl: 'https://api.twitter.com:8443/oauth/request_token' }),
    false,
    'another port',
  );
  t.equal(
    verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=', params: [...params, ['extra', '']] }),
    false,
    'an extra parameter',
  );
  t.equal(
    verifyRequestSignature({ ...request, signature: 'F1Li3tvehgcraF8DMJ7OyxO4w9Y=', baseUrl: 'HTTPS://API.Twitter.com:443/oauth/request_token?ignored=1' }),
    true,
    'the base URI is normalized (§3.4.1.2)',
  );
});

// Twitter's page publishes the consumer secret kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw; with
// it, its documented base string hashes to the documented signature (checked with openssl too).
const CREATING_A_SIGNATURE_CONSUMER_SECRET = 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw';

t.test('Twitter known answer: "Creating a signature" (statuses/update with query and form body)', async (t) => {
  const url = 'https://api.twitter.com/1.1/statuses/update.json?include_entities=true';
  const body = 'status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21';
  const params: Param[] = [
    ...parseFormEncoded(new URL(url).search.slice(1)),
    ['oauth_consumer_key', 'xvz1evFS4wEEPTGEFPHBog'],
    ['oauth_nonce', 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '1318622958'],
    ['oauth_token', '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb'],
    ['oauth_version', '1.0'],
    ...parseFormEncoded(body),
  ];
  t.same(parseFormEncoded(body), [['status', 'Hello Ladies + Gentlemen, a signed OAuth request!']]);
  const base = signatureBaseString('post', url, params);
  t.equal(
    base,
    'POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521',
  );
  t.equal(
    hmacSha1Signature(base, CREATING_A_SIGNATURE_CONSUMER_SECRET, 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE'),
    'hCtSmYh+iHYCEqBWrE7C7hYmtUk=',
  );
  t.equal(
    verifyRequestSignature({
      method: 'POST',
      baseUrl: url,
      params,
      signature: 'hCtSmYh+iHYCEqBWrE7C7hYmtUk=',
      consumerSecret: CREATING_A_SIGNATURE_CONSUMER_SECRET,
      tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE',
    }),
    true,
  );
});

t.test('RFC 5849 §3.4.1.1 example: repeated names, empty values, + in a form body', async (t) => {
  const params: Param[] = [
    ...parseFormEncoded('b5=%3D%253D&a3=a&c%40=&a2=r%20b'),
    ['oauth_consumer_key', '9djdj82h48djs9d2'],
    ['oauth_token', 'kkk9d7dh3k39sjv7'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131201'],
    ['oauth_nonce', '7d8f3e4a'],
    ...parseFormEncoded('c2&a3=2+q'),
  ];
  t.equal(
    normalizeParameters(params),
    'a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7',
  );
  t.equal(
    signatureBaseString('POST', 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b', params),
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
  );
});

t.test('base string URI (§3.4.1.2)', async (t) => {
  t.equal(baseStringUri('HTTP://EXAMPLE.COM:80/r%20v/X?id=123'), 'http://example.com/r%20v/X');
  t.equal(baseStringUri('https://www.example.net:8080/?q=1'), 'https://www.example.net:8080/');
  t.equal(baseStringUri('https://Example.com:443/a#frag'), 'https://example.com/a');
  t.equal(baseStringUri('http://example.com:443/a'), 'http://example.com:443/a', 'only the default port of the scheme is dropped');
  t.equal(baseStringUri('http://127.0.0.1:54321/oauth/request_token'), 'http://127.0.0.1:54321/oauth/request_token');
  t.throws(() => baseStringUri('/relative'), TypeError);
});

t.test('parameter sorting compares encoded names, then encoded values', async (t) => {
  t.equal(
    normalizeParameters([
      ['b', '2'],
      ['a', 'z'],
      ['a', 'Z'],
      ['a', '1'],
      ['A', 'x'],
      ['a~', ''],
      ['a b', ''],
    ]),
    'A=x&a=1&a=Z&a=z&a%20b=&a~=&b=2',
  );
  t.equal(normalizeParameters([]), '');
});

t.test('percentEncode (§3.6)', async (t) => {
  const cases: [string, string][] = [
    ['', ''],
    ['abcXYZ019-._~', 'abcXYZ019-._~'],
    ["!*'()", '%21%2A%27%28%29'],
    [' ', '%20'],
    ['+', '%2B'],
    ['%', '%25'],
    ['/?#[]@:;=&,$', '%2F%3F%23%5B%5D%40%3A%3B%3D%26%2C%24'],
    ['é', '%C3%A9'],
    ['😀', '%F0%9F%98%80'],
    ['\n\u0000', '%0A%00'],
    ['\ud800', '%EF%BF%BD'],
  ];
  for (const [input, expected] of cases) t.equal(percentEncode(input), expected, JSON.stringify(input));
});

t.test('percentDecode', async (t) => {
  t.equal(percentDecode('%C3%A9%2f-._~'), 'é/-._~', 'lowercase hex is accepted');
  t.equal(percentDecode(''), '');
  t.equal(percentDecode('a+b'), undefined, '+ is not §3.6 output');
  t.equal(percentDecode('a b'), undefined);
  t.equal(percentDecode('%2'), undefined);
  t.equal(percentDecode('%zz'), undefined);
  t.equal(percentDecode('%FF'), undefined, 'not UTF-8');
});

t.test('parseAuthorizationHeader accepts the §3.5.1 form', async (t) => {
  const header =
    'OAuth realm="Example", oauth_consumer_key="0685bd9184jfhq22", oauth_token="ad180jjd733klru7", oauth_signature_method="HMAC-SHA1", oauth_signature="wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D", oauth_timestamp="137131200", oauth_nonce="4572616e48616d6d65724c61686176", oauth_version="1.0"';
  const parsed = parseAuthorizationHeader(header);
  t.same(parsed, {
    ok: true,
    realm: 'Example',
    params: {
      oauth_consumer_key: '0685bd9184jfhq22',
      oauth_token: 'ad180jjd733klru7',
      oauth_signature_method: 'HMAC-SHA1',
      oauth_signature: 'wOJIO9A2W5mFwDgiDvZbTSMK/PY=',
      oauth_timestamp: '137131200',
      oauth_nonce: '4572616e48616d6d65724c61686176',
      oauth_version: '1.0',
    },
  });
  t.same(parseAuthorizationHeader('oauth oauth_a="1",oauth_b=""'), { ok: true, realm: undefined, params: { oauth_a: '1', oauth_b: '' } }, 'scheme case, no space, empty value');
  t.same(parseAuthorizationHeader('OAuth\toauth_a = "x%20y" ,\toauth_b="2"'), { ok: true, realm: undefined, params: { oauth_a: 'x y', oauth_b: '2' } });
  t.same(parseAuthorizationHeader('OAuth oauth_callback="http%3A%2F%2Fa.test%2Fcb%3Fx%3D1"'), {
    ok: true,
    realm: undefined,
    params: { oauth_callback: 'http://a.test/cb?x=1' },
  });
});

t.test('parseAuthorizationHeader refuses anything else', async (t) => {
  const bad: [string, string][] = [
    ['', 'the scheme is not OAuth'],
    ['Basic dXNlcjpwYXNz', 'the scheme is not OAuth'],
    ['Bearer abc', 'the scheme is not OAuth'],
    ['OAuthx oauth_a="1"', 'the scheme is not OAuth'],
    ['OAuth', 'the header is malformed'],
    ['OAuth   ', 'the header is malformed'],
    ['OAuth oauth_nonce="a", oauth_nonce="b"', 'oauth_nonce is repeated'],
    ['OAuth oauth_nonce="a", oauth_nonce="a"', 'oauth_nonce is repeated'],
    ['OAuth realm="a", realm="b"', 'realm is repeated'],
    ['OAuth oauth_nonce=abc', 'the header is malformed'],
    ['OAuth oauth_nonce="abc', 'the header is malformed'],
    ['OAuth oauth_a="1" oauth_b="2"', 'the header is malformed'],
    ['OAuth oauth_a="1",', 'the header ends with a comma'],
    ['OAuth oauth_a="1",, oauth_b="2"', 'the header is malformed'],
    ['OAuth ,oauth_a="1"', 'the header is malformed'],
    ['OAuth oauth_a="a\\"b"', 'the header is malformed'],
    ['OAuth foo="bar"', 'a parameter is not an oauth_ parameter'],
    ['OAuth %ZZ="bar"', 'a parameter is not an oauth_ parameter'],
    ['OAuth oauth_callback="http://a.test/"', 'oauth_callback is not percent-encoded'],
    ['OAuth oauth_a="a+b"', 'oauth_a is not percent-encoded'],
    ['OAuth oauth_a="%FF"', 'oauth_a is not percent-encoded'],
    ['OAuth oauth_a="1"; garbage', 'the header is malformed'],
    ['\u0000\u0001garbage', 'the scheme is not OAuth'],
  ];
  for (const [header, reason] of bad) t.same(parseAuthorizationHeader(header), { ok: false, reason }, JSON.stringify(header));
});
