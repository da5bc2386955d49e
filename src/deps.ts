// Builds and closes the real clients the app runs on: Postgres or PGlite,
// Redis or the in-process store, Twitter, the signing key, the clock.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createDatabase, migrateToLatest, type Db } from './db.js';
import { createMemoryStore, createRedisStore, type FlowStore } from './flow-store.js';
import { keyPolicy } from './key-lifecycle.js';
import { createKeyRing, type KeyRing } from './key-ring.js';
import type { SigningKey } from './keys.js';
import { loadOrCreateLocalSecrets } from './local-secrets.js';
import { createSessionCheck, type SessionCheck } from './session-check.js';
import { createTwitterClient, type TwitterClient } from './twitter.js';

export interface Deps {
  readonly db: Db;
  readonly store: FlowStore;
  readonly twitter: TwitterClient;
  readonly signingKey: () => SigningKey;
  /** The signing key and the published key set, kept in step with Postgres. */
  readonly keys: KeyRing;
  readonly encryptionKey: Buffer;
  readonly cookieSecret: string;
  readonly now: () => number;
  readonly sessionCheck: SessionCheck;
  close(): Promise<void>;
}

export interface DepsOptions {
  /** Prefix for every Redis key; lets several instances (or test files) share one Redis. */
  readonly redisKeyPrefix?: string;
  readonly now?: () => number;
}

export async function createDeps(config: Config, logger: Logger, options: DepsOptions = {}): Promise<Deps> {
  const secrets =
    config.cookieSecret !== undefined && config.encryptionKey !== undefined
      ? { cookieSecret: config.cookieSecret, encryptionKey: config.encryptionKey }
      : { ...loadOrCreateLocalSecrets(config.dataDir), ...definedSecrets(config) };
  if (config.cookieSecret === undefined || config.encryptionKey === undefined) {
    logger.warn({ dataDir: config.dataDir }, 'COOKIE_SECRET or ENCRYPTION_KEY is not set: using generated secrets kept in the data folder (never do this in production)');
  }

  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch((error) => logger.error({ err: error }, 'close failed'));
  };
  try {
    const db = await createDatabase({
      databaseUrl: config.databaseUrl,
      poolSize: config.databasePoolSize,
      dataDir: config.dataDir,
      onPoolError: (error) => logger.warn({ err: error }, 'postgres connection error'),
    });
    closers.push(() => db.destroy());
    if (config.databaseUrl === undefined) logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: using the embedded Postgres (PGlite)');
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(db);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }

    let store: FlowStore;
    if (config.redisUrl !== undefined) {
      let lastError = '';
      store = await createRedisStore({
        url: config.redisUrl,
        keyPrefix: options.redisKeyPrefix ?? 'roost:',
        onError: (error) => {
          // ioredis repeats the same error on every reconnect attempt.
          if (error.message !== lastError) logger.warn({ err: error }, 'redis connection error');
          lastError = error.message;
        },
      });
    } else {
      logger.info('no REDIS_URL: using the in-process flow store (single instance only)');
      store = createMemoryStore(options.now);
    }
    closers.push(() => store.close());

    const now = options.now ?? Date.now;
    const keys = await createKeyRing({
      db,
      encryptionKey: secrets.encryptionKey,
      alg: config.jwtAlg,
      policy: keyPolicy(config),
      refreshIntervalMs: config.keyRefreshInterval * 1000,
      now,
      logger,
    });
    closers.push(async () => keys.close());
    const twitter = createTwitterClient({
      ...config.twitter,
      onTwitterError: (event) => logger.warn(event, 'twitter call failed'),
    });
    return {
      db,
      store,
      twitter,
      signingKey: () => keys.signingKey(),
      keys,
      encryptionKey: secrets.encryptionKey,
      cookieSecret: secrets.cookieSecret,
      now,
      sessionCheck: createSessionCheck(db, now),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function definedSecrets(config: Config) {
  return {
    ...(config.cookieSecret !== undefined ? { cookieSecret: config.cookieSecret } : {}),
    ...(config.encryptionKey !== undefined ? { encryptionKey: config.encryptionKey } : {}),
  };
}
