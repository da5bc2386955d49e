// Event ids (UUIDv7) and the listing's cursor.
import t from 'tap';
import { decodeCursor, encodeCursor } from '../../../src/audit/cursor.js';
import { eventIdTime, newEventId } from '../../../src/audit/event-id.js';

t.test('newEventId: a UUIDv7 that carries its time (RFC 9562 §5.7)', async (t) => {
  const now = Date.UTC(2026, 4, 17, 12, 0, 0, 123);
  const id = newEventId(now);
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(eventIdTime(id), now);
  t.equal(newEventId(now, (size) => Buffer.alloc(size, 0xff)), `${now.toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-7fff-bfff-ffffffffffff`, 'version and variant bits over random ones');
  t.equal(newEventId(0, (size) => Buffer.alloc(size)), '00000000-0000-7000-8000-000000000000');
  const ids = Array.from({ length: 50 }, (_, i) => newEventId(now + i * 1000));
  t.same([...ids].sort(), ids, 'later ids sort after earlier ones');
  t.equal(new Set(Array.from({ length: 1000 }, () => newEventId(now))).size, 1000, 'unique within one millisecond');
});

t.test('the cursor comes back as it went', async (t) => {
  const cursor = { time: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), id: newEventId(Date.now()) };
  const encoded = encodeCursor(cursor);
  t.match(encoded, /^[A-Za-z0-9_-]+$/, 'base64url');
  t.same(decodeCursor(encoded), cursor);
});

t.test('anything else is no cursor', async (t) => {
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const id = newEventId(Date.now());
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not JSON', b64('hello')],
    ['an object', b64({ time: '2026-01-01T00:00:00.000Z', id })],
    ['one member', b64(['2026-01-01T00:00:00.000Z'])],
    ['three members', b64(['2026-01-01T00:00:00.000Z', id, 1])],
    ['a time as a number', b64([0, id])],
    ['a time in another form', b64(['2026-01-01', id])],
    ['a time in another zone', b64(['2026-01-01T01:00:00.000+01:00', id])],
    ['not a time', b64(['yesterday', id])],
    ['an id that is not a UUID', b64(['2026-01-01T00:00:00.000Z', "1' or '1'='1"])],
    ['an id in capitals', b64(['2026-01-01T00:00:00.000Z', id.toUpperCase()])],
    ['too long', 'A'.repeat(201)],
  ];
  for (const [name, value] of bad) t.equal(decodeCursor(value), undefined, name);
});
