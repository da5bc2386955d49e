// The in-process view of the signing keys: which key signs for each
// algorithm and what the JWKS publishes. Every replica reads Postgres every
// KEY_REFRESH_INTERVAL seconds and applies whatever lifecycle step is due, so
// replicas agree on the signing keys without restarting, and the hot paths
// only read memory.
//
// A ring keeps one key lifecycle per algorithm of its set: `alg` (JWT_ALG,
// the access tokens') and `extraAlgs` (the ID tokens'). Keys of other
// algorithms in Postgres are published and left to the replicas that still
// sign with them; once none does, the ring retires them (see
// key-lifecycle.ts for why it waits). RSA keys are slow to make: a ring makes
// keys only for the algorithms of its set.
//
// It fails closed. When an algorithm's current key in Postgres is one this
// replica cannot open (sealed with an ENCRYPTION_KEY it does not have), it
// stops signing with that algorithm rather than go on with the key it held,
// which may have just been revoked; the JWKS keeps following Postgres, so a
// revoked key leaves it all the same. The first refresh that opens the
// current key signs again.
import type { Logger } from 'pino';
import type { SealingKeys } from './crypto-box.js';
import type { Db } from '../store/db.js';
import { AppError } from '../errors.js';
import { planTransitions, publishKeys, startsSigningAt, type KeyPolicy, type PublishedKeys, type Transition } from './key-lifecycle.js';
import { confirmKeyInUse, expireKey, insertKey, promoteKey, readPublishedKeys, retireKeys, toKeyRecord, type KeyRow } from './key-store.js';
import { generateSigningKey, isSigningAlg, openSigningKey, signingAlgorithms, whyUnopenable, type SigningAlg, type SigningKey } from './signing-keys.js';

export interface KeyRing {
  /**
   * The current key of `alg` (default: the primary algorithm, JWT_ALG), as
   * of the last refresh. Throws an AppError `signing_key_unavailable` (503)
   * while this replica may not sign with that algorithm, or when the
   * algorithm is not in its set; its cause's message tells the operator
   * what to do.
   */
  signingKey(alg?: SigningAlg): SigningKey;
  /** The algorithms this ring keeps keys for, the primary first. */
  readonly algorithms: readonly SigningAlg[];
  /** The published key set of every algorithm, its JWKS body and ETag, as of the last refresh. */
  published(): PublishedKeys;
  /** Reads Postgres and applies due transitions; what the timer runs. Calls run one after another. */
  refresh(): Promise<void>;
  close(): void;
}

export interface KeyRingOptions {
  readonly db: Db;
  readonly encryptionKey: SealingKeys;
  /** The primary algorithm (JWT_ALG): the access tokens', first in the JWKS, what signingKey() gives. */
  readonly alg: SigningAlg;
  /** Algorithms kept beside `alg` (the ID tokens' algorithms); a repeat of `alg` is ignored. */
  readonly extraAlgs?: readonly SigningAlg[];
  readonly policy: KeyPolicy;
  /** 0: no timer (refresh only when called). */
  readonly refreshIntervalMs: number;
  readonly now: () => number;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Told when this replica's automatic rotation made the next key sign (the audit log). */
  readonly onRotated?: (kid: string, alg: string) => void;
}

/** Why this replica may not sign with an algorithm. */
interface Unusable {
  /** The current key's kid, when there is one. */
  readonly kid: string | undefined;
  /** For the problem's detail and /readyz: what is wrong and what the operator should do. */
  readonly detail: string;
  readonly cause: Error;
}

/** One algorithm's signing state: a key, or why there is none. */
type Signer = { readonly signing: SigningKey; readonly unusable?: undefined } | { readonly signing?: undefined; readonly unusable: Unusable };

interface Snapshot {
  /** Per algorithm of the set. */
  readonly signers: ReadonlyMap<string, Signer>;
  readonly published: PublishedKeys;
  /** kid:state of every published key; a new one means the set changed. */
  readonly fingerprint: string;
}

/** Loads the keys (creating the first ones on an empty database) and starts the refresh timer. */
export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { db, logger, policy } = options;
  const algs = signingAlgorithms(options.alg, options.extraAlgs);
  let snapshot: Snapshot | undefined;

  const apply = async (step: Transition, now: Date): Promise<void> => {
    switch (step.kind) {
      case 'create-current': {
        if (!isSigningAlg(step.alg)) return;
        const key = await generateSigningKey(step.alg, options.encryptionKey);
        // Replicas starting together on an empty database all try; one insert per algorithm wins.
        if (await insertKey(db, key, 'current', now)) logger.info({ kid: key.kid, alg: key.alg }, 'signing key created');
        return;
      }
      case 'create-next': {
        if (!isSigningAlg(step.alg)) return;
        const key = await generateSigningKey(step.alg, options.encryptionKey);
        if (await insertKey(db, key, 'next', now)) {
          const from = new Date(startsSigningAt({ publishedAt: now }, policy)).toISOString();
          logger.info({ kid: key.kid, alg: key.alg, startsSigningAt: from }, 'next signing key published (automatic rotation)');
        }
        return;
      }
      case 'promote':
        if (await promoteKey(db, step.next, step.current, now)) {
          logger.info({ kid: step.next, alg: step.alg, previous: step.current }, 'signing key rotated');
          options.onRotated?.(step.next, step.alg);
        }
        return;
      case 'confirm':
        await confirmKeyInUse(db, step.kid, now);
        return;
      case 'retire':
        if (await retireKeys(db, step.current, step.next, new Date(now.getTime() - policy.abandonedAfterMs), now)) {
          logger.info(
            { kid: step.current, alg: step.alg, next: step.next ?? null },
            `no replica signs with ${step.alg} any more: its signing key is retired and leaves the JWKS once its tokens have expired`,
          );
        }
        return;
      case 'expire':
        if (await expireKey(db, step.kid, now)) logger.info({ kid: step.kid, alg: step.alg }, 'previous signing key left the JWKS');
        return;
    }
  };

  /** Whether this replica's ENCRYPTION_KEY opens the current key of `alg` among these rows. */
  const opensCurrent = async (rows: readonly KeyRow[], alg: string): Promise<boolean> => {
    const current = rows.find((row) => row.alg === alg && row.state === 'current');
    if (!current) return false;
    if (snapshot?.signers.get(alg)?.signing?.kid === current.kid) return true;
    return openSigningKey(current, options.encryptionKey).then(
      () => true,
      () => false,
    );
  };

  const load = async (): Promise<void> => {
    const now = new Date(options.now());
    let rows = await readPublishedKeys(db);
    const plan = planTransitions(rows.map(toKeyRecord), now.getTime(), policy, algs);
    if (plan.length > 0) {
      for (const step of plan) {
        // A key this replica seals opens only where its ENCRYPTION_KEY does. One
        // that cannot open the current key probably runs with another
        // ENCRYPTION_KEY than the others, so it leaves the next key to them.
        if (step.kind === 'create-next' && !(await opensCurrent(rows, step.alg))) continue;
        await apply(step, now);
      }
      // A confirmation alone changes nothing this replica reads.
      if (plan.some((step) => step.kind !== 'confirm')) rows = await readPublishedKeys(db);
    }
    const before = snapshot;
    snapshot = await nextSnapshot(rows, before, options.encryptionKey, options.alg, algs);
    if (!before || snapshot === before) return;
    for (const alg of algs) {
      const was = before.signers.get(alg);
      const is = snapshot.signers.get(alg);
      if (is?.unusable && is.unusable.detail !== was?.unusable?.detail) {
        const what = alg === options.alg ? 'tokens' : `${alg} tokens`;
        logger.error({ kid: is.unusable.kid, alg, err: is.unusable.cause }, `this replica stops issuing ${what}: ${is.unusable.detail}`);
      }
      if (is?.signing && !was?.signing) logger.info({ kid: is.signing.kid, alg }, 'this replica can sign again');
    }
    if (snapshot.published !== before.published || algs.some((alg) => snapshot?.signers.get(alg)?.signing !== before.signers.get(alg)?.signing)) {
      const signing = Object.fromEntries(algs.map((alg) => [alg, snapshot?.signers.get(alg)?.signing?.kid ?? null]));
      logger.info({ signing, published: snapshot.published.jwks.keys.map((key) => key.kid) }, 'signing keys changed');
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
  for (const alg of algs) {
    const unusable = first?.signers.get(alg)?.unusable;
    if (unusable) throw unusable.cause;
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
    signingKey: (alg = options.alg) => {
      const signer = (snapshot as Snapshot).signers.get(alg);
      if (signer?.signing) return signer.signing;
      // The client (an app, or a person's browser) learns that tokens cannot be issued now; what the
      // operator should do stays in the cause, which /readyz and the log read.
      const cause = signer
        ? new Error(signer.unusable.detail, { cause: signer.unusable.cause })
        : new Error(
            `This replica keeps no ${String(alg)} signing key: its algorithms are ${algs.join(', ')} (JWT_ALG and the ID token algorithms of the registered OIDC clients)`,
          );
      throw new AppError('signing_key_unavailable', 'This server cannot issue tokens right now; try again shortly', { cause });
    },
    algorithms: algs,
    published: () => (snapshot as Snapshot).published,
    refresh,
    close: () => clearInterval(timer),
  };
}

async function nextSnapshot(
  rows: readonly KeyRow[],
  previous: Snapshot | undefined,
  encryptionKey: SealingKeys,
  primary: SigningAlg,
  algs: readonly SigningAlg[],
): Promise<Snapshot> {
  const fingerprint = rows
    .map((row) => `${row.kid}:${row.state}`)
    .sort()
    .join(',');
  // The published set follows Postgres whether or not this replica can sign.
  const published = previous?.fingerprint === fingerprint ? previous.published : publishKeys(rows.map(toKeyRecord), primary);
  const signers = new Map<string, Signer>();
  let changed = previous === undefined;
  for (const alg of algs) {
    const before = previous?.signers.get(alg);
    const signer = await nextSigner(rows, alg, alg === primary, before, encryptionKey);
    if (signer !== before) changed = true;
    signers.set(alg, signer);
  }
  if (!changed && previous) return published === previous.published ? previous : { ...previous, published, fingerprint };
  return { signers, published, fingerprint };
}

async function nextSigner(rows: readonly KeyRow[], alg: SigningAlg, primary: boolean, previous: Signer | undefined, encryptionKey: SealingKeys): Promise<Signer> {
  const tokens = primary ? 'tokens' : `${alg} tokens`;
  const current = rows.find((row) => row.alg === alg && row.state === 'current');
  if (!current) {
    // Only possible when another process changed the keys between our write and read; the next refresh makes one.
    const detail = `The database holds no current ${alg} signing key, so this replica issues no ${tokens} until its next refresh makes one`;
    if (previous?.unusable?.detail === detail) return previous;
    return { unusable: { kid: undefined, detail, cause: new Error(`no current ${alg} signing key in the database`) } };
  }
  if (previous?.signing?.kid === current.kid) return previous;
  // A key this replica does not hold yet, or could not open last time: tried
  // again on every refresh, so a key re-sealed in place is picked up too.
  try {
    return { signing: await openSigningKey(current, encryptionKey) };
  } catch (error) {
    const cause = error instanceof Error ? error : new Error(String(error));
    const detail = cannotOpen(current.kid, tokens, cause);
    if (previous?.unusable?.detail === detail) return previous;
    return { unusable: { kid: current.kid, detail, cause } };
  }
}

function cannotOpen(kid: string, tokens: string, error: Error): string {
  return (
    `This replica cannot open the current signing key ${kid} (${whyUnopenable(error)}), so it issues no ${tokens}. ` +
    'Operator: give this replica the ENCRYPTION_KEY that sealed the key (or list it in ENCRYPTION_KEYS_PREVIOUS), ' +
    `or replace the key by running "npm run keys -- revoke ${kid}" with the replicas' ENCRYPTION_KEY`
  );
}
