// The signing-key lifecycle as pure functions: which transitions are due at
// a given time, and what the JWKS publishes. No I/O here.
//
//   next ──► current ──► previous ──► expired
//     └─────────┴───────────┴──► revoked
//
// next:     published in the JWKS, not signing yet, so verifiers' caches hold it
//           before the first token it signs (RFC 7517 §5: kid selects the key).
// current:  signs every new token of its algorithm. One per algorithm.
// previous: published until every token it signed has expired.
// expired / revoked: gone from the JWKS; the private part is erased.
//
// Each algorithm a replica signs with has a lifecycle of its own: JWT_ALG
// for access tokens, and beside it the ID tokens' algorithms (RS256, which
// every OpenID Connect client accepts, and what registered clients ask for).
// One current key per algorithm, a next key published ahead of its rotation,
// previous keys until they expire; the JWKS publishes every algorithm's keys.
//
// An algorithm leaves a replica's set when an operator changes JWT_ALG or
// removes the last client that asked for it. In a rolling deploy, replicas
// that still have it go on signing with its current key, so a replica without
// it must not retire that key at once: the others, finding no current key,
// would make a new one, which it would retire, and so on. Instead, every
// replica with the algorithm confirms its current key in Postgres about once a
// minute (`confirm`), and a replica without it only plans, for that
// algorithm, the expiry of previous keys and, once no replica has confirmed
// the current key for `abandonedAfterMs`, its retirement (`retire`): the
// current key becomes previous, so it stays published until every token it
// signed has expired and then leaves the JWKS like any other; its next key, if
// one was published, leaves at once (it never signed). It never creates,
// rotates or promotes keys of an algorithm outside its set. A next key of an
// algorithm no replica signs with yet (published ahead with `rotate --alg`)
// waits: the first replica with that algorithm signs with it at once.
import { createHash } from 'node:crypto';
import { toPublicJwk, type PublicJwk } from './signing-keys.js';

export const KEY_STATES = ['next', 'current', 'previous', 'expired', 'revoked'] as const;
export type KeyState = (typeof KEY_STATES)[number];
export const PUBLISHED_STATES: readonly KeyState[] = ['next', 'current', 'previous'];

/**
 * Allowance for clocks that differ between replicas, the database and
 * verifiers (RFC 7519 §4.1.4 leaves "some small leeway" to verifiers).
 */
export const CLOCK_LEEWAY_SECONDS = 60;

export interface KeyTimingSettings {
  readonly jwksMaxAge: number;
  readonly keyRefreshInterval: number;
  readonly accessTokenTtl: number;
  /** 0: no automatic rotation. */
  readonly keyRotationInterval: number;
}

/** How often the replicas that sign with an algorithm confirm its current key in Postgres. */
export const IN_USE_CONFIRM_SECONDS = 60;

export interface KeyPolicy {
  /** How long a next key is published before it may sign. */
  readonly publishDelayMs: number;
  /** How long a previous key stays published after it stopped signing. */
  readonly previousWindowMs: number;
  /** How long a key signs before the next one takes over; undefined: only by command. */
  readonly rotationIntervalMs: number | undefined;
  /** How old a current key's last confirmation may get before a replica that signs with its algorithm confirms it again. */
  readonly confirmIntervalMs: number;
  /** How long a current key of an algorithm outside a replica's set goes unconfirmed before that replica retires it. */
  readonly abandonedAfterMs: number;
}

/**
 * A verifier may have fetched the JWKS from a replica that had not seen the
 * new key yet (up to one refresh interval behind) and keep it for max-age:
 * only after both has every cache the new key. A replica may sign with the
 * old key for one refresh interval after another replica switched, and those
 * tokens live for ACCESS_TOKEN_TTL.
 */
export function keyPolicy(settings: KeyTimingSettings): KeyPolicy {
  return {
    publishDelayMs: (settings.jwksMaxAge + settings.keyRefreshInterval + CLOCK_LEEWAY_SECONDS) * 1000,
    previousWindowMs: (settings.accessTokenTtl + settings.keyRefreshInterval + CLOCK_LEEWAY_SECONDS) * 1000,
    rotationIntervalMs: settings.keyRotationInterval > 0 ? settings.keyRotationInterval * 1000 : undefined,
    confirmIntervalMs: IN_USE_CONFIRM_SECONDS * 1000,
    // A replica that signs with the algorithm confirms on its first refresh
    // after the interval, so its last confirmation is at most the interval plus
    // one refresh old (and clocks differ); twice the interval lets one that
    // missed a minute of refreshes (Postgres out of its reach) count as alive.
    abandonedAfterMs: (2 * IN_USE_CONFIRM_SECONDS + settings.keyRefreshInterval + CLOCK_LEEWAY_SECONDS) * 1000,
  };
}

/** A stored key as the lifecycle sees it. */
export interface KeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly state: KeyState;
  readonly publicJwk: Record<string, unknown>;
  readonly publishedAt: Date;
  readonly activatedAt: Date | null;
  readonly retiredAt: Date | null;
  /** When a replica that signs with this algorithm last confirmed this current key. */
  readonly inUseAt: Date | null;
}

/** A step of one algorithm's lifecycle; `alg` names the algorithm. */
export type Transition =
  /** No key of a kept algorithm signs (an empty database, or the algorithm is new): create one that signs at once. */
  | { readonly kind: 'create-current'; readonly alg: string }
  /** Automatic rotation: publish the key that will sign next. */
  | { readonly kind: 'create-next'; readonly alg: string }
  | { readonly kind: 'promote'; readonly alg: string; readonly next: string; readonly current: string | undefined }
  /** A replica that signs with the algorithm says so (see the header). */
  | { readonly kind: 'confirm'; readonly alg: string; readonly kid: string }
  /** No replica signs with the algorithm any more: its current key becomes previous, its next key leaves. */
  | { readonly kind: 'retire'; readonly alg: string; readonly current: string; readonly next: string | undefined }
  | { readonly kind: 'expire'; readonly alg: string; readonly kid: string };

/**
 * The transitions due at nowMs, in the order they must be applied: those of
 * each algorithm of `algs` (this replica's set, the primary first), then
 * those of the other algorithms found among the keys, by name.
 */
export function planTransitions(keys: readonly KeyRecord[], nowMs: number, policy: KeyPolicy, algs: readonly string[]): Transition[] {
  const others = [...new Set(keys.map((key) => key.alg))].filter((alg) => !algs.includes(alg)).sort(byCodeUnits);
  return [...new Set(algs), ...others].flatMap((alg) =>
    planAlgorithm(
      keys.filter((key) => key.alg === alg),
      alg,
      nowMs,
      policy,
      algs.includes(alg),
    ),
  );
}

/** The transitions due for the keys of one algorithm; `kept`: whether it is in this replica's set. */
export function planAlgorithm(keys: readonly KeyRecord[], alg: string, nowMs: number, policy: KeyPolicy, kept: boolean): Transition[] {
  const own = keys.filter((key) => key.alg === alg);
  const current = own.find((key) => key.state === 'current');
  const next = own.find((key) => key.state === 'next');
  const plan: Transition[] = [];
  if (kept) {
    if (!current) {
      // Nothing signs: a published next key takes over at once, or a new key is made.
      plan.push(next ? { kind: 'promote', alg, next: next.kid, current: undefined } : { kind: 'create-current', alg });
    } else if (next && nowMs >= startsSigningAt(next, policy)) {
      plan.push({ kind: 'promote', alg, next: next.kid, current: current.kid });
    } else {
      if (!next && policy.rotationIntervalMs !== undefined) {
        // Published early enough that it takes over when the interval ends.
        const signingSince = (current.activatedAt ?? current.publishedAt).getTime();
        if (nowMs >= signingSince + policy.rotationIntervalMs - policy.publishDelayMs) plan.push({ kind: 'create-next', alg });
      }
      if (nowMs >= lastInUseAt(current) + policy.confirmIntervalMs) plan.push({ kind: 'confirm', alg, kid: current.kid });
    }
  } else if (current && nowMs >= lastInUseAt(current) + policy.abandonedAfterMs) {
    plan.push({ kind: 'retire', alg, current: current.kid, next: next?.kid });
  }
  for (const key of own) {
    if (key.state === 'previous' && nowMs >= leavesJwksAt(key, policy)) plan.push({ kind: 'expire', alg, kid: key.kid });
  }
  return plan;
}

/** When a current key was last known to sign: confirmed by a replica, or made current. */
export function lastInUseAt(key: Pick<KeyRecord, 'inUseAt' | 'activatedAt' | 'publishedAt'>): number {
  return Math.max(key.inUseAt?.getTime() ?? 0, key.activatedAt?.getTime() ?? 0, key.publishedAt.getTime());
}

/** When a next key may start signing. */
export function startsSigningAt(key: Pick<KeyRecord, 'publishedAt'>, policy: KeyPolicy): number {
  return key.publishedAt.getTime() + policy.publishDelayMs;
}

/** When a previous key leaves the JWKS: every token it signed has expired by then. */
export function leavesJwksAt(key: Pick<KeyRecord, 'retiredAt' | 'publishedAt'>, policy: KeyPolicy): number {
  return (key.retiredAt ?? key.publishedAt).getTime() + policy.previousWindowMs;
}

/** What /.well-known/jwks.json serves, computed once per change of the key set. */
export interface PublishedKeys {
  readonly jwks: { readonly keys: readonly PublicJwk[] };
  readonly body: string;
  /** A strong validator (RFC 9110 §8.8.3): the same bytes give the same ETag on every replica. */
  readonly etag: string;
  /** The algorithms of the published keys, in the JWKS's order (the primary algorithm's first when it has a key). */
  readonly algorithms: readonly string[];
}

const PUBLICATION_ORDER: Record<string, number> = { current: 0, next: 1, previous: 2 };

/** Ordinal, not locale-aware: every replica must sort to the same bytes. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The JWKS of the published keys: the current keys first, the primary
 * algorithm's (JWT_ALG) before the others (a naive verifier takes the first
 * key), then the next keys in the same order, then the previous keys, newest
 * first. The order depends only on the keys and `primaryAlg`, so replicas
 * with the same JWT_ALG serve the same bytes.
 */
export function publishKeys(keys: readonly KeyRecord[], primaryAlg?: string): PublishedKeys {
  const algorithmOrder = (a: KeyRecord, b: KeyRecord) =>
    Number(b.alg === primaryAlg) - Number(a.alg === primaryAlg) || byCodeUnits(a.alg, b.alg);
  const published = keys
    .filter((key) => PUBLISHED_STATES.includes(key.state))
    .sort(
      (a, b) =>
        (PUBLICATION_ORDER[a.state] ?? 9) - (PUBLICATION_ORDER[b.state] ?? 9) ||
        (a.state === 'previous' ? 0 : algorithmOrder(a, b)) ||
        (b.retiredAt?.getTime() ?? 0) - (a.retiredAt?.getTime() ?? 0) ||
        a.kid.localeCompare(b.kid),
    );
  const jwks = { keys: published.map((key) => toPublicJwk(key.publicJwk, key.kid, key.alg)) };
  const body = JSON.stringify(jwks);
  return {
    jwks,
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`,
    algorithms: [...new Set(published.map((key) => key.alg))],
  };
}
