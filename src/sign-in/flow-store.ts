// Short-lived, single-use state (sign-in flows): Redis in production, an
// in-process map on the embedded defaults. Both honour one contract: a value
// expires after its TTL and take() hands it out at most once.
import { AppError } from '../errors.js';
import { connectRedis, type RedisClient } from '../store/redis.js';

export interface FlowStore {
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Reads and deletes in one step: of two concurrent takes, one gets the value. */
  take(key: string): Promise<string | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Connection errors, as ioredis reports them. */
  readonly onError: (error: Error) => void;
  /** Each failed command, counted by the metrics. */
  readonly onCommandError?: (error: unknown) => void;
}

export interface RedisFlowStore extends FlowStore {
  /** The connection, shared with the rate limiter's counters. */
  readonly redis: RedisClient;
}

export async function createRedisStore(options: RedisStoreOptions): Promise<RedisFlowStore> {
  const redis = await connectRedis(options);
  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      options.onCommandError?.(error);
      throw new AppError('store_unavailable', 'The flow store did not answer; try again shortly', { cause: error });
    }
  };
  return {
    redis,
    put: (key, value, ttl) => call(async () => void (await redis.set(key, value, 'EX', ttl))),
    take: (key) => call(() => redis.getdel(key)),
    ping: () => call(async () => void (await redis.ping())),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export function createMemoryStore(now: () => number = Date.now): FlowStore {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const sweep = setInterval(() => {
    const time = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= time) entries.delete(key);
  }, 30_000);
  sweep.unref();
  return {
    put: async (key, value, ttl) => {
      entries.set(key, { value, expiresAt: now() + ttl * 1000 });
    },
    take: async (key) => {
      const entry = entries.get(key);
      entries.delete(key);
      return entry && entry.expiresAt > now() ? entry.value : null;
    },
    ping: async () => {},
    close: async () => {
      clearInterval(sweep);
      entries.clear();
    },
  };
}
