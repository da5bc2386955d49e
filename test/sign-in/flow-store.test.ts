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
