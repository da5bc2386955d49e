// The in-process view of the signing keys: which key signs and what the JWKS
// publishes. Every replica reads Postgres every KEY_REFRESH_INTERVAL seconds
// and applies whatever lifecycle step is due, so replicas agree on the
// signing key without restarting, and the hot paths only read memory.
import type { Logger } from 'pino';
import type { SealingKeys } from './crypto-box.js';
import type { Db } from '../store/db.js';
import { planTransitions, publishKeys, startsSigningAt, type KeyPolicy, type PublishedKeys, type Transition } from './key-lifecycle.js';
import { expireKey, insertKey, promoteKey, readPublishedKeys, toKeyRecord, type KeyRow } from './key-store.js';
import { generateSigningKey, openSigningKey, type SigningAlg, type SigningKey } from './signing-keys.js';

export interface KeyRing {
  /** The key that signs new tokens, as of the last refresh. */
  signingKey(): SigningKey;
  /** The published key set, its JWKS body and ETag, as of the last refresh. */
  published(): PublishedKeys;
  /** Reads Postgres and applies due transitions; what the timer runs. Calls run one after another. */
  refresh(): Promise<void>;
  close(): void;
}

export interface KeyRingOptions {
  readonly db: Db;
  readonly encryptionKey: SealingKeys;
  /** The algorithm of keys this replica creates (JWT_ALG). */
  readonly alg: SigningAlg;
  readonly policy: KeyPolicy;
  /** 0: no timer (refresh only when called). */
  readonly refreshIntervalMs: number;
  readonly now: () => number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

interface Snapshot {
  readonly signing: SigningKey;
  readonly published: PublishedKeys;
  /** kid:state of every published key; a new one means the set changed. */
  readonly fingerprint: string;
}

/** Loads the keys (creating the first one on an empty database) and starts the refresh timer. */
export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { db, logger } = options;
  let snapshot: Snapshot | undefined;

  const apply = async (step: Transition, now: Date): Promise<void> => {
    switch (step.kind) {
      case 'create-current': {
        const key = await generateSigningKey(options.alg, options.encryptionKey);
        // Replicas starting together on an empty database all try; one insert wins.
        if (await insertKey(db, key, 'current', now)) logger.info({ kid: key.kid, alg: key.alg }, 'signing key created');
        return;
      }
      case 'create-next': {
        const key = await generateSigningKey(options.alg, options.encryptionKey);
        if (await insertKey(db, key, 'next', now)) {
          const from = new Date(startsSigningAt({ publishedAt: now }, options.policy)).toISOString();
          logger.info({ kid: key.kid, alg: key.alg, startsSigningAt: from }, 'next signing key published (automatic rotation)');
        }
        return;
      }
      case 'promote':
        if (await promoteKey(db, step.next, step.current, now)) logger.info({ kid: step.next, previous: step.current }, 'signing key rotated');
        return;
      case 'expire':
        if (await expireKey(db, step.kid, now)) logger.info({ kid: step.kid }, 'previous signing key left the JWKS');
        return;
    }
  };

  const load = async (): Promise<void> => {
    const now = new Date(options.now());
    let rows = await readPublishedKeys(db);
    const plan = planTransitions(rows.map(toKeyRecord), now.getTime(), options.policy);
    if (plan.length > 0) {
      for (const step of plan) await apply(step, now);
      rows = await readPublishedKeys(db);
    }
    const before = snapshot;
    snapshot = await nextSnapshot(rows, before, options.encryptionKey);
    if (before && snapshot !== before) {
      logger.info({ signing: snapshot.signing.kid, published: snapshot.published.jwks.keys.map((key) => key.kid) }, 'signing keys changed');
    }
  };

  let queue: Promise<void> = Promise.resolve();
  const refresh = (): Promise<void> => {
    const run = queue.then(load);
    queue = run.catch(() => undefined);
    return run;
  };

  await refresh();
  const first = (snapshot as Snapshot | undefined)?.signing;
  if (first && first.alg !== options.alg) {
    logger.warn({ kid: first.kid, alg: first.alg, jwtAlg: options.alg }, `the signing key is ${first.alg} but JWT_ALG is ${options.alg}: run "npm run keys -- rotate" to switch`);
  }

  let timer: NodeJS.Timeout | undefined;
  if (options.refreshIntervalMs > 0) {
    let running = false;
    let lastError = '';
    timer = setInterval(() => {
      if (running) return;
      running = true;
      refresh()
        .then(() => (lastError = ''))
        .catch((error: unknown) => {
          // Keep signing and serving the last known keys; say so once per distinct failure.
          const message = error instanceof Error ? error.message : String(error);
          if (message !== lastError) logger.warn({ err: error }, 'signing keys could not be refreshed; keeping the last known keys');
          lastError = message;
        })
        .finally(() => (running = false));
    }, options.refreshIntervalMs);
    timer.unref();
  }

  return {
    signingKey: () => (snapshot as Snapshot).signing,
    published: () => (snapshot as Snapshot).published,
    refresh,
    close: () => clearInterval(timer),
  };
}

async function nextSnapshot(rows: readonly KeyRow[], previous: Snapshot | undefined, encryptionKey: SealingKeys): Promise<Snapshot> {
  const fingerprint = rows
    .map((row) => `${row.kid}:${row.state}`)
    .sort()
    .join(',');
  if (previous?.fingerprint === fingerprint) return previous;
  const current = rows.find((row) => row.state === 'current');
  // Only possible when another process changed the keys between our write and read; the next refresh repairs it.
  if (!current) throw new Error('no current signing key in the database');
  const signing = previous?.signing.kid === current.kid ? previous.signing : await openSigningKey(current, encryptionKey);
  return { signing, published: publishKeys(rows.map(toKeyRecord)), fingerprint };
}
