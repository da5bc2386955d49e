// Builds and closes the real clients the app runs on: Postgres or PGlite,
// Redis or the in-process store, X, the signing key, the clock.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { EncryptionKeys } from './keys/crypto-box.js';
import { createDatabase, describeConnectionError, migrateDatabase, pendingMigrations, type Db } from './store/db.js';
import { createMemoryStore, createRedisStore, type FlowStore } from './sign-in/flow-store.js';
import { keyPolicy } from './keys/key-lifecycle.js';
import { createKeyRing, type KeyRing } from './keys/key-ring.js';
import type { SigningKey } from './keys/signing-keys.js';
import { loadOrCreateLocalSecrets } from './keys/local-secrets.js';
import type { RedisClient } from './store/redis.js';
import { resealSigningKeys, resealStoredSecrets } from './keys/reseal.js';
import { loadRefreshChain, type RefreshChain } from './sessions/refresh-chain.js';
import { createSessionCheck, type SessionCheck } from './sessions/session-check.js';
import { startSessionPurge, type SessionPurge } from './sessions/purge.js';
import { deleteEndedSessions } from './sessions/queries.js';
import { createMetrics, timeTwitterCalls, type Metrics } from './ops/metrics.js';
import { createOAuth1Upstream } from './twitter/oauth1-upstream.js';
import { createOAuth2Upstream } from './twitter/oauth2-client.js';
import type { Upstream } from './twitter/upstream.js';
import { createAuditWriter, type AuditWriter } from './audit/writer.js';
import { startAuditPurge, type AuditPurge } from './audit/purge.js';
import { deleteExpiredAuditRows } from './audit/queries.js';
import { startDeliveryWorker, type DeliveryWorker } from './webhooks/delivery-worker.js';
import { createSignInHook, type SignInHook } from './webhooks/sign-in-hook.js';
import { createIdTokenSigner } from './oidc/id-token-signer.js';
import type { IdTokenIssuer } from './sessions/grants.js';

export interface Deps {
  readonly db: Db;
  readonly store: FlowStore;
  /** The Redis connection when REDIS_URL is set (the rate limiter counts there too). */
  readonly redis: RedisClient | undefined;
  /** X, over OAuth 1.0a or 2.0 as TWITTER_PROTOCOL (or the keys given) says. */
  readonly upstream: Upstream;
  readonly signingKey: () => SigningKey;
  /** The signing key and the published key set, kept in step with Postgres. */
  readonly keys: KeyRing;
  /** The current ENCRYPTION_KEY. */
  readonly encryptionKey: Buffer;
  /** The keys of the refresh token chain: the chain secret kept in Postgres, and the keys earlier versions derived from ENCRYPTION_KEY. */
  readonly refreshChain: RefreshChain;
  /** ENCRYPTION_KEY and ENCRYPTION_KEYS_PREVIOUS: seal with the first, open with any. */
  readonly encryptionKeys: EncryptionKeys;
  readonly cookieSecret: string;
  readonly now: () => number;
  readonly sessionCheck: SessionCheck;
  /** The periodic purge of ended sessions (SESSION_RETENTION), stopped by close(). */
  readonly sessionPurge: SessionPurge;
  readonly metrics: Metrics;
  /** Writes audit events (and their webhook deliveries); never fails the request it describes. */
  readonly audit: AuditWriter;
  /** The periodic purge of audit events older than AUDIT_RETENTION. */
  readonly auditPurge: AuditPurge;
  /** Delivers the webhook outbox when WEBHOOK_URL is set. */
  readonly webhooks: DeliveryWorker | undefined;
  /** Asks SIGN_IN_HOOK_URL before a sign-in issues anything, when it is set. */
  readonly signInHook: SignInHook | undefined;
  /** Signs registered clients' ID tokens when the OpenID Connect provider is on. */
  readonly idTokens: IdTokenIssuer | undefined;
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

  const metrics = createMetrics();
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch((error) => logger.error({ err: error }, 'close failed'));
  };
  try {
    const db = await createDatabase({
      databaseUrl: config.databaseUrl,
      poolSize: config.databasePoolSize,
      preparedStatements: config.databasePreparedStatements,
      timeoutMs: config.databaseTimeoutMs,
      dataDir: config.dataDir,
      onPoolError: (error) => {
        metrics.postgresErrors.inc({ kind: 'connection' });
        logger.warn({ err: error }, 'postgres connection error');
      },
      onConnectError: () => metrics.postgresErrors.inc({ kind: 'connection' }),
      onQueryError: () => metrics.postgresErrors.inc({ kind: 'query' }),
    });
    closers.push(() => db.destroy());
    if (config.databaseUrl === undefined) logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: using the embedded Postgres (PGlite)');
    // The first query is the first connection: a failure there names DATABASE_URL and says why.
    const pending = await pendingMigrations(db).catch((error: unknown) => {
      const described = config.databaseUrl === undefined ? undefined : describeConnectionError(error, config.databaseUrl);
      throw described === undefined ? error : new Error(described, { cause: error });
    });
    if (config.migrateOnStart) {
      const started = performance.now();
      const applied = pending.length === 0 ? [] : await migrateDatabase(db, config);
      if (applied.length > 0) logger.info({ applied, ms: Math.round(performance.now() - started) }, 'migrations applied');
    } else if (pending.length > 0) {
      // Code that expects a newer schema must not serve: refuse to start instead.
      throw new Error(`the database lacks migrations ${pending.join(', ')}: run "npm run migrate" (in the image: node dist/src/cli/migrate.js) first, or set MIGRATE_ON_START=true`);
    }

    let store: FlowStore;
    let redis: RedisClient | undefined;
    if (config.redisUrl !== undefined) {
      let lastError = '';
      const redisStore = await createRedisStore({
        url: config.redisUrl,
        keyPrefix: options.redisKeyPrefix ?? config.redisKeyPrefix,
        onError: (error) => {
          metrics.redisErrors.inc({ kind: 'connection' });
          // ioredis repeats the same error on every reconnect attempt.
          if (error.message !== lastError) logger.warn({ err: error }, 'redis connection error');
          lastError = error.message;
        },
        onCommandError: () => metrics.redisErrors.inc({ kind: 'command' }),
      });
      store = redisStore;
      redis = redisStore.redis;
    } else {
      logger.info('no REDIS_URL: using the in-process flow store (single instance only)');
      store = createMemoryStore(options.now);
    }
    closers.push(() => store.close());

    const now = options.now ?? Date.now;
    const encryptionKeys: EncryptionKeys = { current: secrets.encryptionKey, previous: config.encryptionKeysPrevious };
    const resealed = await resealSigningKeys(db, encryptionKeys, (kid) =>
      logger.warn({ kid }, 'a signing key cannot be opened with ENCRYPTION_KEY or ENCRYPTION_KEYS_PREVIOUS; left as it is'),
    );
    if (resealed.length > 0) logger.info({ kids: resealed }, 'signing keys re-sealed with the current ENCRYPTION_KEY');
    const resealedSecrets = await resealStoredSecrets(db, encryptionKeys, (name) =>
      logger.warn({ secret: name }, 'a stored secret cannot be opened with ENCRYPTION_KEY or ENCRYPTION_KEYS_PREVIOUS; left as it is'),
    );
    if (resealedSecrets.length > 0) logger.info({ secrets: resealedSecrets }, 'stored secrets re-sealed with the current ENCRYPTION_KEY');
    const refreshChain = await loadRefreshChain(db, encryptionKeys);
    let webhooks: DeliveryWorker | undefined;
    const audit = createAuditWriter({
      now,
      webhooks: config.webhook !== undefined,
      onWriteFailed: (error, type) => {
        metrics.auditWriteFailures.inc({ type });
        logger.error({ err: error, type }, 'an audit event could not be stored');
      },
      onDetailRefused: (type, refused) => logger.error({ type, refused }, 'audit detail left out'),
      onDeliveryQueued: () => webhooks?.wake(),
    });
    const keys = await createKeyRing({
      db,
      encryptionKey: encryptionKeys,
      alg: config.jwtAlg,
      // ID tokens: RS256, and whatever a registered client asked for.
      extraAlgs: config.oidc?.idTokenAlgs ?? [],
      policy: keyPolicy(config),
      refreshIntervalMs: config.keyRefreshInterval * 1000,
      now,
      logger,
      onRotated: (kid, alg) => void audit.record(db, { type: 'signing_key.rotated', outcome: 'success', detail: { kid, alg, by: 'automatic rotation' } }),
    });
    closers.push(async () => keys.close());
    const sessionPurge = startSessionPurge({
      deleteBatch: (cutoffs, limit) => deleteEndedSessions(db, cutoffs, limit),
      now,
      idleSeconds: config.sessionIdleTtl,
      retentionSeconds: config.sessionRetention,
      intervalMs: config.sessionPurgeInterval * 1000,
      logger,
      metrics,
    });
    // Closed before the database (closers run in reverse): a run in progress ends first.
    closers.push(() => sessionPurge.close());
    const upstream = createUpstream(config, logger, metrics);

    const auditPurge = startAuditPurge({
      deleteBatch: (cutoff, limit) => deleteExpiredAuditRows(db, cutoff, limit),
      now,
      retentionSeconds: config.auditRetention,
      intervalMs: config.sessionPurgeInterval * 1000,
      logger,
    });
    closers.push(() => auditPurge.close());
    if (config.webhook !== undefined) {
      const worker = startDeliveryWorker({
        db,
        url: config.webhook.url,
        key: config.webhook.key,
        now,
        maxAgeMs: config.webhook.maxAge * 1000,
        logger,
        onDelivery: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
        onDatabaseError: () => metrics.postgresErrors.inc({ kind: 'query' }),
      });
      webhooks = worker;
      metrics.webhookAge.read = () => worker.oldestPendingAgeSeconds();
      // Closed before the database (closers run in reverse): deliveries in flight end first.
      closers.push(() => worker.close());
    }
    const signInHook = config.signInHook && createSignInHook({ url: config.signInHook.url, key: config.signInHook.key, timeoutMs: config.signInHook.timeoutMs, now });
    if (signInHook) closers.push(async () => signInHook.close());
    return {
      db,
      store,
      redis,
      upstream,
      signingKey: () => keys.signingKey(),
      keys,
      encryptionKey: secrets.encryptionKey,
      refreshChain,
      encryptionKeys,
      cookieSecret: secrets.cookieSecret,
      now,
      sessionCheck: createSessionCheck(db, now, config.sessionIdleTtl),
      sessionPurge,
      metrics,
      audit,
      auditPurge,
      webhooks,
      signInHook,
      idTokens:
        config.oidc &&
        createIdTokenSigner({ issuer: config.publicUrl, ttlSeconds: config.accessTokenTtl, clients: config.oidc.clients, signingKey: (alg) => keys.signingKey(alg), now }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The client for X in the protocol the configuration chose, timed and counted, its failures logged without tokens. */
function createUpstream(config: Config, logger: Logger, metrics: Metrics): Upstream {
  const { twitter } = config;
  const common = {
    apiUrl: twitter.apiUrl,
    timeoutMs: twitter.timeoutMs,
    email: twitter.email,
    timed: timeTwitterCalls(metrics),
    onTwitterError: (event: object) => logger.warn(event, 'twitter call failed'),
    onClockSkew: ({ endpoint, skewSeconds }: { endpoint: string; skewSeconds: number }) =>
      logger.warn(
        { endpoint, skewSeconds },
        `this server's clock differs from X's by ${Math.abs(skewSeconds)} s: X refuses OAuth 1.0a requests with such timestamps (error 135); synchronise the clock (NTP)`,
      ),
  };
  if (twitter.protocol === 'oauth2') {
    return createOAuth2Upstream({ ...common, authorizeUrl: twitter.authorizeUrl, clientId: twitter.clientId, clientSecret: twitter.clientSecret });
  }
  return createOAuth1Upstream({ ...common, consumerKey: twitter.consumerKey, consumerSecret: twitter.consumerSecret });
}

function definedSecrets(config: Config) {
  return {
    ...(config.cookieSecret !== undefined ? { cookieSecret: config.cookieSecret } : {}),
    ...(config.encryptionKey !== undefined ? { encryptionKey: config.encryptionKey } : {}),
  };
}
