// How an operator's `q` is read, the LIKE pattern of a handle prefix, and the
// cursor of the user listing.
import t from 'tap';
import { decodeUserCursor, encodeUserCursor, parseUserFilter, startsWithPattern } from '../../../src/admin/user-search.js';

t.test('q: a handle prefix, an X id, an email, or everyone', async (t) => {
  const cases: Array<[string | undefined, ReturnType<typeof parseUserFilter>]> = [
    [undefined, { kind: 'all' }],
    ['', { kind: 'all' }],
    ['   ', { kind: 'all' }],
    ['ali', { kind: 'handle', prefix: 'ali' }],
    ['ALI', { kind: 'handle', prefix: 'ali' }],
    ['@Alice', { kind: 'handle', prefix: 'alice' }],
    [' alice ', { kind: 'handle', prefix: 'alice' }],
    ['carol_no', { kind: 'handle', prefix: 'carol_no' }],
    ['a'.repeat(15), { kind: 'handle', prefix: 'a'.repeat(15) }],
    ['1240000000000000001', { kind: 'twitter_id_or_handle', value: '1240000000000000001' }],
    ['42', { kind: 'twitter_id_or_handle', value: '42' }],
    ['alice@example.com', { kind: 'email', email: 'alice@example.com' }],
    ['Alice@Example.COM', { kind: 'email', email: 'alice@example.com' }],
    ['@alice@example.com', { kind: 'email', email: '@alice@example.com' }],
    // Characters no handle has: no one matches, rather than a wildcard of LIKE.
    ['ali%', undefined],
    ['al ice', undefined],
    ['a'.repeat(16), undefined],
    ['@', undefined],
    // Looked up as an address, exactly: it matches no one.
    ['@@', { kind: 'email', email: '@@' }],
    ['1'.repeat(21), undefined],
    ['élise', undefined],
  ];
  for (const [q, expected] of cases) t.same(parseUserFilter(q), expected, JSON.stringify(q));
});

t.test('a prefix is matched literally: LIKE’s wildcards and escape are escaped', async (t) => {
  t.equal(startsWithPattern('ali'), 'ali%');
  t.equal(startsWithPattern('carol_no'), 'carol\\_no%');
  t.equal(startsWithPattern('100%'), '100\\%%');
  t.equal(startsWithPattern('a\\b'), 'a\\\\b%');
});

t.test('the cursor comes back as it went, microseconds and all', async (t) => {
  const cursor = { createdAt: '2026-01-02T03:04:05.123456Z', id: '0b7e6a52-3f1c-4f7e-9d2a-6c1b5e4d3a21' };
  const encoded = encodeUserCursor(cursor);
  t.match(encoded, /^[A-Za-z0-9_-]+$/);
  t.same(decodeUserCursor(encoded), cursor);
});

t.test('anything else is no cursor', async (t) => {
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const id = '0b7e6a52-3f1c-4f7e-9d2a-6c1b5e4d3a21';
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not JSON', b64('hello')],
    ['an object', b64({ createdAt: '2026-01-01T00:00:00.000000Z', id })],
    ['three members', b64(['2026-01-01T00:00:00.000000Z', id, 1])],
    ['milliseconds only', b64(['2026-01-01T00:00:00.000Z', id])],
    ['another zone', b64(['2026-01-01T00:00:00.000000+01:00', id])],
    ['no real day', b64(['2026-02-30T00:00:00.000000Z', id])],
    ['no real hour', b64(['2026-01-01T25:00:00.000000Z', id])],
    ['SQL for a time', b64(["2026-01-01T00:00:00.000000Z'; drop table users; --", id])],
    ['not a UUID', b64(['2026-01-01T00:00:00.000000Z', "1' or '1'='1"])],
    ['a UUID in capitals', b64(['2026-01-01T00:00:00.000000Z', id.toUpperCase()])],
    ['a number for a time', b64([0, id])],
    ['too long', 'A'.repeat(201)],
  ];
  for (const [name, value] of bad) t.equal(decodeUserCursor(value), undefined, name);
});

t.test('a query with a control character matches no one, rather than reaching Postgres', async (t) => {
  for (const q of ['a\u0000@b', 'ali\u0000ce', '12\u0007', 'x\u200e']) t.equal(parseUserFilter(q), undefined, JSON.stringify(q));
});
