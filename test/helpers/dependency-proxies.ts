// A test's own Postgres schema and Redis, each reached through a cuttable
// proxy, so the test can take either away from a running roost.
import type { Test } from 'tap';
import { startCuttableProxy, type CuttableProxy } from './cuttable-proxy.js';
import { createTestSchema, TEST_REDIS_URL } from './roost.js';

export interface DependencyProxies {
  readonly postgres: CuttableProxy;
  readonly redis: CuttableProxy;
  /** The test schema's URL through the proxy, and without it. */
  readonly databaseUrl: string;
  readonly directDatabaseUrl: string;
  readonly redisUrl: string;
}

export async function startDependencyProxies(t: Pick<Test, 'teardown'>): Promise<DependencyProxies> {
  const directDatabaseUrl = await createTestSchema(t);
  const schemaUrl = new URL(directDatabaseUrl);
  const postgres = await startCuttableProxy(schemaUrl.hostname, Number(schemaUrl.port || 5432));
  const redisTarget = new URL(TEST_REDIS_URL);
  const redis = await startCuttableProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
  t.teardown(async () => {
    await postgres.close();
    await redis.close();
  });
  schemaUrl.host = `127.0.0.1:${postgres.port}`;
  return { postgres, redis, databaseUrl: schemaUrl.href, directDatabaseUrl, redisUrl: `redis://127.0.0.1:${redis.port}` };
}
