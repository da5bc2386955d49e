// An audit event's detail keeps small scalars and refuses, by key name and
// reason, anything secret-looking or too large.
import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { cleanAuditDetail, MAX_DETAIL_BYTES, MAX_DETAIL_KEYS, MAX_DETAIL_STRING } from '../../../src/audit/detail.js';
import { newRefreshToken } from '../../../src/sessions/refresh-tokens.js';

t.test('what is kept', async (t) => {
  const detail = {
    reason: 'invalid_grant',
    protocol: 'oauth2',
    is_new_user: true,
    attempts: 3,
    ratio: 0.5,
    previous: null,
    session_id: randomUUID(),
    kid: randomBytes(32).toString('base64url'),
    previous_kid: randomBytes(32).toString('base64url'),
    note: 'Banned after three reports of spam, see the ticket in the support queue',
    long_enough: 'word '.repeat(MAX_DETAIL_STRING / 5),
  };
  t.same(cleanAuditDetail(detail), { detail, refused: [] });
  t.same(cleanAuditDetail(undefined), { detail: {}, refused: [] });
  t.same(cleanAuditDetail({}), { detail: {}, refused: [] });
});

t.test('secret-looking values and keys are refused, the rest kept', async (t) => {
  const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a refresh token', { value: newRefreshToken() }, 'looks_like_a_secret'],
    ['a JWT', { value: jwt }, 'looks_like_a_secret'],
    ['a JWE header', { value: 'eyJlbmMiOiJBMjU2R0NNIn0..abc' }, 'looks_like_a_secret'],
    ['an Authorization header', { value: 'Bearer abc' }, 'looks_like_a_secret'],
    ['Basic credentials', { value: 'basic dXNlcjpwYXNz' }, 'looks_like_a_secret'],
    ['a webhook secret', { value: 'whsec_abc' }, 'looks_like_a_secret'],
    ['a PEM key', { value: '-----BEGIN PRIVATE KEY-----\nMII' }, 'looks_like_a_secret'],
    ['a URL with a code', { value: 'https://app.test/cb?state=1&code=abc' }, 'looks_like_a_secret'],
    ['a URL with a token in the fragment', { value: 'https://app.test/#access_token=abc' }, 'looks_like_a_secret'],
    ['a cookie header', { value: 'a=1; refresh_token=abc' }, 'looks_like_a_secret'],
    ['a hex digest', { value: randomBytes(32).toString('hex') }, 'looks_like_a_secret'],
    ['base64 key material', { value: randomBytes(24).toString('base64') }, 'looks_like_a_secret'],
    ['an opaque value under an id key that is not a kid', { client_id: randomBytes(24).toString('base64url') }, 'looks_like_a_secret'],
    ['key: token', { token: 'x' }, 'secret_key'],
    ['key: access_token', { access_token: 'x' }, 'secret_key'],
    ['key: refresh_token_hash', { refresh_token_hash: 'x' }, 'secret_key'],
    ['key: client_secret', { client_secret: 'x' }, 'secret_key'],
    ['key: password', { password: 'x' }, 'secret_key'],
    ['key: cookie', { cookie: 'x' }, 'secret_key'],
    ['key: authorization', { authorization: 'x' }, 'secret_key'],
    ['key: code', { code: 'x' }, 'secret_key'],
    ['key: code_verifier', { code_verifier: 'x' }, 'secret_key'],
    ['key: api_key', { api_key: 'x' }, 'secret_key'],
    ['key: private_key', { private_key: 'x' }, 'secret_key'],
    ['key: signature', { signature: 'x' }, 'secret_key'],
    ['a key in camelCase', { userAgent: 'x' }, 'bad_key'],
    ['a key with a dot', { 'a.b': 1 }, 'bad_key'],
    ['an empty key', { '': 1 }, 'bad_key'],
    ['a key too long', { ['k'.repeat(41)]: 1 }, 'bad_key'],
    ['an object', { nested: { a: 1 } }, 'not_scalar'],
    ['an array', { list: [1, 2] }, 'not_scalar'],
    ['NaN', { n: Number.NaN }, 'not_scalar'],
    ['Infinity', { n: Number.POSITIVE_INFINITY }, 'not_scalar'],
    ['undefined', { n: undefined }, 'not_scalar'],
    ['a bigint', { n: 1n }, 'not_scalar'],
    ['a long string', { note: 'x'.repeat(MAX_DETAIL_STRING + 1) }, 'too_long'],
  ];
  for (const [name, detail, why] of cases) {
    const cleaned = cleanAuditDetail({ reason: 'kept', ...detail });
    t.same(cleaned.detail, { reason: 'kept' }, `${name}: the rest is kept`);
    t.same(cleaned.refused, [{ key: Object.keys(detail)[0]?.slice(0, 40), why }], name);
  }
});

t.test('only a plain object is a detail', async (t) => {
  const cases: Array<[string, unknown]> = [['null', null], ['a string', 'reason'], ['a number', 3], ['an array', [1]], ['a Date', new Date()], ['a Map', new Map()], ['an object without a prototype', Object.create(null)]];
  for (const [name, detail] of cases) t.same(cleanAuditDetail(detail), { detail: {}, refused: [{ key: '', why: 'not_an_object' }] }, name);
});

t.test('at most 16 keys and 1 KB in all', async (t) => {
  const many = Object.fromEntries(Array.from({ length: MAX_DETAIL_KEYS + 2 }, (_, i) => [`k${i}`, i]));
  const cleaned = cleanAuditDetail(many);
  t.equal(Object.keys(cleaned.detail).length, MAX_DETAIL_KEYS);
  t.same(cleaned.refused, [{ key: 'k16', why: 'too_many_keys' }, { key: 'k17', why: 'too_many_keys' }]);

  const large = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`note_${i}`, `${i} ${'x'.repeat(MAX_DETAIL_STRING - 2)}`]));
  const trimmed = cleanAuditDetail(large);
  t.ok(Buffer.byteLength(JSON.stringify(trimmed.detail)) <= MAX_DETAIL_BYTES);
  t.same(Object.keys(trimmed.detail), ['note_0', 'note_1', 'note_2', 'note_3'], 'the first keys are kept');
  t.same(trimmed.refused, ['note_7', 'note_6', 'note_5', 'note_4'].map((key) => ({ key, why: 'too_large' })));
  const multibyte = cleanAuditDetail({ a: 'é'.repeat(200), b: 'é'.repeat(200), c: 'é'.repeat(200) });
  t.same(multibyte.refused, [{ key: 'c', why: 'too_large' }], 'counted in bytes');
});
