// Connects to Redis as REDIS_URL says: one server, a Sentinel deployment or
// a Cluster, always with fail-fast options.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly onError: (error: Error) => void;
}

// Fail fast while Redis is away: requests get a 503 at once instead of
// queueing behind reconnects (ioredis 6 defaults wait about 74 s).
const FAIL_FAST = {
  maxRetriesPerRequest: 1,
  commandTimeout: 1000,
  connectTimeout: 2000,
} as const satisfies RedisOptions;
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2000);

export async function connectRedis(options: RedisConnectOptions): Promise<RedisClient> {
  const parsed = parseRedisUrl(options.url);
  if (!parsed.ok) throw new Error(`REDIS_URL ${parsed.reason}`);
  const target = parsed.value;
  let client: RedisClient;
  if (target.kind === 'cluster') {
    client = new Cluster(
      target.nodes.map((node) => ({ host: node.host, port: node.port })),
      {
        keyPrefix: options.keyPrefix,
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...FAIL_FAST, username: target.username, password: target.password },
      },
    );
  } else {
    const common: RedisOptions = { ...FAIL_FAST, keyPrefix: options.keyPrefix, lazyConnect: true, enableOfflineQueue: false, retryStrategy };
    client =
      target.kind === 'sentinel'
        ? new Redis({
            ...common,
            sentinels: target.sentinels.map((node) => ({ host: node.host, port: node.port })),
            name: target.name,
            db: target.db,
            username: target.username,
            password: target.password,
            sentinelRetryStrategy: retryStrategy,
          })
        : new Redis(target.url, common);
  }
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
    options.onError(error);
  });
  // Bounded: with Sentinel, a master name no Sentinel knows is retried forever.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${CONNECT_BOUND_MS} ms`)), CONNECT_BOUND_MS);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (error) {
    client.disconnect();
    // The URL may carry a password, so only the reason is named.
    throw new Error(`could not connect to Redis (REDIS_URL): ${lastError?.message ?? (error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  return client;
}

const CONNECT_BOUND_MS = 5000;
