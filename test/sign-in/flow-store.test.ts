// One contract, two stores: Redis (the real one on this machine) and the
// in-process map of the embedded defaults.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { AppError } from '../../src/errors.js';
import { createMemoryStore, createRedisStore, type FlowStore } from '../../src/sign-in/flow-store.js';
import { startCuttableProxy } from '../helpers/cuttable-proxy.js';
import { TEST_REDIS_URL } from '../helpers/roost.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function contract(name: string, make: () => Promise<{ store: FlowStore; advance: (seconds: number) => Promise<void> }>) {
  t.test(name, async (t) => {
    const { store, advance } = await make();
    t.teardown(() => store.close());

    await t.test('a value is taken once', async (t) => {
      await store.put('a', 'value-a', 60);
      t.equal(await store.take('a'), 'value-a');
      t.equal(await store.take('a'), null);
    });
    await t.test('an unknown key is null', async (t) => {
      t.equal(await store.take('never-put'), null);
    });
    await t.test('of many concurrent takes, exactly one wins', async (t) => {
      await store.put('race', 'prize', 60);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take('race')));
      t.equal(results.filter((r) => r === 'prize').length, 1);
      t.equal(results.filter((r) => r === null).length, 19);
    });
    await t.test('a value expires after its TTL', async (t) => {
      await store.put('short', 'v', 1);
      await store.put('long', 'v', 60);
      await advance(1.2);
      t.equal(await store.take('short'), null);
      t.equal(await store.take('long'), 'v');
    });
    await t.test('a claim hands the value out once and leaves a mark', async (t) => {
      await store.put('code-1', '{"v":1}', 60);
      t.same(await store.claim('code-1', 600), { kind: 'value', value: '{"v":1}' });
      t.equal(await store.settle('code-1', 'session-1'), true, 'the first claim records its outcome');
      t.same(await store.claim('code-1', 600), { kind: 'claimed', outcome: 'session-1' }, 'a later claim is told what the first led to');
      t.same(await store.claim('code-1', 600), { kind: 'claimed', outcome: 'session-1' }, 'and so is every one after it');
      t.equal(await store.settle('code-1', 'session-2'), false, 'an outcome is recorded once');
    });
    await t.test('a claim before the first one settled makes its settle fail', async (t) => {
      await store.put('code-2', '{"v":2}', 60);
      t.same(await store.claim('code-2', 600), { kind: 'value', value: '{"v":2}' });
      t.same(await store.claim('code-2', 600), { kind: 'claimed', outcome: null }, 'claimed, nothing settled yet');
      t.equal(await store.settle('code-2', 'session-1'), false, 'the first claim learns it was claimed again');
      t.same(await store.claim('code-2', 600), { kind: 'claimed', outcome: null }, 'still nothing to tell');
    });
    await t.test('an unknown key claims and settles nothing', async (t) => {
      t.same(await store.claim('never-put', 600), { kind: 'absent' });
      t.equal(await store.settle('never-put', 'session-1'), false);
      t.same(await store.claim('never-put', 600), { kind: 'absent' }, 'settle left nothing behind');
    });
    await t.test('of many concurrent claims, exactly one gets the value; the others find it claimed', async (t) => {
      await store.put('code-race', '{"prize":true}', 60);
      const claims = await Promise.all(Array.from({ length: 20 }, () => store.claim('code-race', 600)));
      t.equal(claims.filter((c) => c.kind === 'value').length, 1);
      t.equal(claims.filter((c) => c.kind === 'claimed' && c.outcome === null).length, 19);
      t.equal(await store.settle('code-race', 'session-1'), false, 'claimed again before it settled');
    });
    await t.test('the mark lasts its own TTL, not the value\'s', async (t) => {
      await store.put('code-ttl', '{}', 1);
      t.same(await store.claim('code-ttl', 3), { kind: 'value', value: '{}' });
      await advance(1.2);
      t.same(await store.claim('code-ttl', 3), { kind: 'claimed', outcome: null }, 'past the value\'s TTL');
      await advance(2);
      t.same(await store.claim('code-ttl', 3), { kind: 'absent' }, 'past the mark\'s');
      t.equal(await store.settle('code-ttl', 'session-1'), false);
    });
    await t.test('an expired value is not claimed', async (t) => {
      await store.put('code-expired', '{}', 1);
      await advance(1.2);
      t.same(await store.claim('code-expired', 600), { kind: 'absent' });
    });
    await t.test('ping answers', async (t) => {
      await t.resolves(store.ping());
    });
  });
}

contract('memory store', async () => {
  let now = 1_000_000;
  return {
    store: createMemoryStore(() => now),
    advance: async (seconds) => {
      now += seconds * 1000;
    },
  };
});

contract('redis store', async () => ({
  store: await createRedisStore({ url: TEST_REDIS_URL, keyPrefix: `roost-test:${randomBytes(6).toString('hex')}:`, onError: () => {} }),
  advance: (seconds) => sleep(seconds * 1000),
}));

t.test('redis keys carry the prefix, so instances sharing a Redis stay apart', async (t) => {
  const one = await createRedisStore({ url: TEST_REDIS_URL, keyPrefix: `roost-test:${randomBytes(6).toString('hex')}:`, onError: () => {} });
  const two = await createRedisStore({ url: TEST_REDIS_URL, keyPrefix: `roost-test:${randomBytes(6).toString('hex')}:`, onError: () => {} });
  t.teardown(async () => {
    await one.close();
    await two.close();
  });
  await one.put('shared-name', 'one', 60);
  t.equal(await two.take('shared-name'), null);
  t.equal(await one.take('shared-name'), 'one');
});

t.test('with Redis away, calls fail fast with store_unavailable and recover by themselves', async (t) => {
  const redisUrl = new URL(TEST_REDIS_URL);
  const proxy = await startCuttableProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  t.teardown(() => proxy.close());
  const store = await createRedisStore({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: `roost-test:${randomBytes(6).toString('hex')}:`, onError: () => {} });
  t.teardown(() => store.close());
  await store.put('k', 'v', 60);
  await proxy.cut();
  const started = performance.now();
  const error = await store.take('k').catch((e: unknown) => e);
  t.ok(error instanceof AppError && error.code === 'store_unavailable', 'store_unavailable');
  t.ok(performance.now() - started < 3000, 'failed without hanging');
  await proxy.restore();
  let recovered: string | null | undefined;
  for (let attempt = 0; attempt < 50 && recovered === undefined; attempt++) {
    recovered = await store.take('k').catch(() => undefined);
    if (recovered === undefined) await sleep(100);
  }
  t.equal(recovered, 'v', 'the value is still there once Redis is back');
});
