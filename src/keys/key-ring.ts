// The in-process view of the signing keys: which key signs and what the JWKS
// publishes. Every replica reads Postgres every KEY_REFRESH_INTERVAL seconds
// and applies whatever lifecycle step is due, so replicas agree on the
// signing key without restarting, and the hot paths only read memory.
//
// It fails closed. When the current key in Postgres is one this replica
// cannot open (sealed with an ENCRYPTION_KEY it does not have), it stops
// signing rather than go on with the key it held, which may have just been
// revoked; the JWKS keeps following Postgres, so a revoked key leaves it all
// the same. The first refresh that opens the current key signs again.
import type { Logger } from 'pino';
import type { SealingKeys } from './crypto-box.js';
import type { Db } from '../store/db.js';
import { AppError } from '../errors.js';
import { planTransitions, publishKeys, startsSigningAt, type KeyPolicy, type PublishedKeys, type Transition } from './key-lifecycle.js';
import { expireKey, insertKey, promoteKey, readPublishedKeys, toKeyRecord, type KeyRow } from './key-store.js';
import { generateSigningKey, openSigningKey, whyUnopenable, type SigningAlg, type SigningKey } from './signing-keys.js';

export interface KeyRing {
  /**
   * The key that signs new tokens, as of the last refresh. Throws an
   * AppError `signing_key_unavailable` (503) while this replica may not
   * sign; its cause's message tells the operator what to do.
   */
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
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Told when this replica's automatic rotation made the next key sign (the audit log). */
  readonly onRotated?: (kid: string) => void;
}

/** Why this replica may not sign. */
interface Unusable {
  /** The current key's kid, when there is one. */
  readonly kid: string | undefined;
  /** For the problem's detail and /readyz: what is wrong and what the operator should do. */
  readonly detail: string;
  readonly cause: Error;
}

interface Snapshot {
  /** Undefined while this replica may not sign; `unusable` says why. */
  readonly signing: SigningKey | undefined;
  readonly unusable: Unusable | undefined;
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
        if (await promoteKey(db, step.next, step.current, now)) {
          logger.info({ kid: step.next, previous: step.current }, 'signing key rotated');
          options.onRotated?.(step.next);
        }
        return;
      case 'expire':
        if (await expireKey(db, step.kid, now)) logger.info({ kid: step.kid }, 'previous signing key left the JWKS');
        return;
    }
  };

  /** Whether this replica's ENCRYPTION_KEY opens the current key of these rows. */
  const opensCurrent = async (rows: readonly KeyRow[]): Promise<boolean> => {
    const current = rows.find((row) => row.state === 'current');
    if (!current) return false;
    if (snapshot?.signing?.kid === current.kid) return true;
    return openSigningKey(current, options.encryptionKey).then(
      () => true,
      () => false,
    );
  };

  const load = async (): Promise<void> => {
    const now = new Date(options.now());
    let rows = await readPublishedKeys(db);
    const plan = planTransitions(rows.map(toKeyRecord), now.getTime(), options.policy);
    if (plan.length > 0) {
      for (const step of plan) {
        // A key this replica seals opens only where its ENCRYPTION_KEY does. One
        // that cannot open the current key probably runs with another
        // ENCRYPTION_KEY than the others, so it leaves the next key to them.
        if (step.kind === 'create-next' && !(await opensCurrent(rows))) continue;
        await apply(step, now);
      }
      rows = await readPublishedKeys(db);
    }
    const before = snapshot;
    snapshot = await nextSnapshot(rows, before, options.encryptionKey);
    if (!before || snapshot === before) return;
    if (snapshot.unusable && snapshot.unusable.detail !== before.unusable?.detail) {
      logger.error({ kid: snapshot.unusable.kid, err: snapshot.unusable.cause }, `this replica stops issuing tokens: ${snapshot.unusable.detail}`);
    }
    if (snapshot.signing && !before.signing) logger.info({ kid: snapshot.signing.kid }, 'this replica can sign again');
    if (snapshot.published !== before.published || snapshot.signing !== before.signing) {
      logger.info({ signing: snapshot.signing?.kid ?? null, published: snapshot.published.jwks.keys.map((key) => key.kid) }, 'signing keys changed');
    }
  };

  let queue: Promise<void> = Promise.resolve();
  const refresh = (): Promise<void> => {
    const run = queue.then(load);
    queue = run.catch(() => undefined);
    return run;
  };

  await refresh();
  const first = snapshot as Snapshot | undefined;
  // At start, a key that does not open is a configuration error: refuse to start, with the reason.
  if (first?.unusable) throw first.unusable.cause;
  if (first?.signing && first.signing.alg !== options.alg) {
    logger.warn(
      { kid: first.signing.kid, alg: first.signing.alg, jwtAlg: options.alg },
      `the signing key is ${first.signing.alg} but JWT_ALG is ${options.alg}: run "npm run keys -- rotate" to switch`,
    );
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
          // Postgres did not answer: keep the last known keys (it is the best
          // knowledge there is); say so once per distinct failure.
          const message = error instanceof Error ? error.message : String(error);
          if (message !== lastError) logger.warn({ err: error }, 'signing keys could not be refreshed; keeping the last known keys');
          lastError = message;
        })
        .finally(() => (running = false));
    }, options.refreshIntervalMs);
    timer.unref();
  }

  return {
    signingKey: () => {
      const { signing, unusable } = snapshot as Snapshot;
      if (signing) return signing;
      // The client (an app, or a person's browser) learns that tokens cannot be issued now; what the
      // operator should do stays in the cause, which /readyz and the log read.
      throw new AppError('signing_key_unavailable', 'This server cannot issue tokens right now; try again shortly', {
        cause: new Error((unusable as Unusable).detail, { cause: unusable?.cause }),
      });
    },
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
  // The published set follows Postgres whether or not this replica can sign.
  const published = previous?.fingerprint === fingerprint ? previous.published : publishKeys(rows.map(toKeyRecord));
  const current = rows.find((row) => row.state === 'current');
  if (!current) {
    // Only possible when another process changed the keys between our write and read; the next refresh makes one.
    return {
      signing: undefined,
      unusable: {
        kid: undefined,
        detail: 'The database holds no current signing key, so this replica issues no tokens until its next refresh makes one',
        cause: new Error('no current signing key in the database'),
      },
      published,
      fingerprint,
    };
  }
  if (previous?.signing?.kid === current.kid) return published === previous.published ? previous : { ...previous, published, fingerprint };
  // A key this replica does not hold yet, or could not open last time: tried
  // again on every refresh, so a key re-sealed in place is picked up too.
  try {
    return { signing: await openSigningKey(current, encryptionKey), unusable: undefined, published, fingerprint };
  } catch (error) {
    const cause = error instanceof Error ? error : new Error(String(error));
    return { signing: undefined, unusable: { kid: current.kid, detail: cannotOpen(current.kid, cause), cause }, published, fingerprint };
  }
}

function cannotOpen(kid: string, error: Error): string {
  return (
    `This replica cannot open the current signing key ${kid} (${whyUnopenable(error)}), so it issues no tokens. ` +
    'Operator: give this replica the ENCRYPTION_KEY that sealed the key (or list it in ENCRYPTION_KEYS_PREVIOUS), ' +
    `or replace the key by running "npm run keys -- revoke ${kid}" with the replicas' ENCRYPTION_KEY`
  );
}
