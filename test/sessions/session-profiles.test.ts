// The profile cache behind GET /me: one read per session per
// SESSION_CHECK_CACHE_MS, never shared between sessions or users, a missing
// user never remembered, and at most maxEntries sessions held.
import t from 'tap';
import { SESSION_CHECK_CACHE_MS } from '../../src/sessions/session-check.js';
import { createSessionProfiles } from '../../src/sessions/session-profiles.js';

const NOW = Date.UTC(2026, 0, 1);

function reader(profiles: Record<string, string | undefined>) {
  const reads: string[] = [];
  return { reads, read: async (sub: string) => (reads.push(sub), profiles[sub]) };
}

t.test('one read per session within the bound, a new one at the bound', async (t) => {
  let clock = NOW;
  const cache = createSessionProfiles<string>(() => clock);
  const { reads, read } = reader({ alice: 'Alice v1' });
  t.equal(await cache.find('s1', 'alice', read), 'Alice v1');
  clock += SESSION_CHECK_CACHE_MS - 1;
  t.equal(await cache.find('s1', 'alice', async () => 'Alice v2'), 'Alice v1', 'inside the bound: cached');
  t.equal(reads.length, 1);
  clock += 1;
  t.equal(await cache.find('s1', 'alice', async () => 'Alice v2'), 'Alice v2', 'at the bound: read again');
});

t.test('sessions and users never share an entry', async (t) => {
  const cache = createSessionProfiles<string>(() => NOW);
  const { reads, read } = reader({ alice: 'Alice', bob: 'Bob' });
  t.equal(await cache.find('s1', 'alice', read), 'Alice');
  t.equal(await cache.find('s2', 'alice', read), 'Alice');
  t.equal(await cache.find('s1', 'bob', read), 'Bob', 'the same session id under another user is read, not served');
  t.same(reads, ['alice', 'alice', 'bob']);
});

t.test('a missing user is not remembered', async (t) => {
  const cache = createSessionProfiles<string>(() => NOW);
  const { reads, read } = reader({});
  t.equal(await cache.find('s1', 'gone', read), undefined);
  t.equal(await cache.find('s1', 'gone', read), undefined);
  t.equal(reads.length, 2);
});

t.test('at most maxEntries sessions, the oldest dropped first; a clock that went back reads again', async (t) => {
  let clock = NOW;
  const cache = createSessionProfiles<string>(() => clock, { maxEntries: 2 });
  const { reads, read } = reader({ a: 'A', b: 'B', c: 'C' });
  await cache.find('s1', 'a', read);
  await cache.find('s2', 'b', read);
  await cache.find('s3', 'c', read);
  await cache.find('s3', 'c', read);
  await cache.find('s2', 'b', read);
  t.equal(reads.length, 3, 'the newest two held');
  await cache.find('s1', 'a', read);
  t.equal(reads.length, 4, 'the oldest was dropped');
  clock -= 1000;
  await cache.find('s1', 'a', read);
  t.equal(reads.length, 5);
});

t.test('a failed read fails the request and leaves nothing behind', async (t) => {
  const cache = createSessionProfiles<string>(() => NOW);
  await t.rejects(cache.find('s1', 'alice', async () => Promise.reject(new Error('database down'))), /database down/);
  t.equal(await cache.find('s1', 'alice', async () => 'Alice'), 'Alice');
});
