// The signing-key lifecycle as pure functions: which transitions are due at
// a given time, and what the JWKS publishes. No I/O here.
//
//   next ──► current ──► previous ──► expired
//     └─────────┴───────────┴──► revoked
//
// next:     published in the JWKS, not signing yet, so verifiers' caches hold it
//           before the first token it signs (RFC 7517 §5: kid selects the key).
// current:  signs every new token. Exactly one.
// previous: published until every token it signed has expired.
// expired / revoked: gone from the JWKS; the private part is erased.
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

export interface KeyPolicy {
  /** How long a next key is published before it may sign. */
  readonly publishDelayMs: number;
  /** How long a previous key stays published after it stopped signing. */
  readonly previousWindowMs: number;
  /** How long a key signs before the next one takes over; undefined: only by command. */
  readonly rotationIntervalMs: number | undefined;
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
}

export type Transition =
  /** No key signs (an empty database): create one that signs at once. */
  | { readonly kind: 'create-current' }
  /** Automatic rotation: publish the key that will sign next. */
  | { readonly kind: 'create-next' }
  | { readonly kind: 'promote'; readonly next: string; readonly current: string | undefined }
  | { readonly kind: 'expire'; readonly kid: string };

/** The transitions due at nowMs, in the order they must be applied. */
export function planTransitions(keys: readonly KeyRecord[], nowMs: number, policy: KeyPolicy): Transition[] {
  const current = keys.find((key) => key.state === 'current');
  const next = keys.find((key) => key.state === 'next');
  const plan: Transition[] = [];
  if (!current) {
    // Nothing signs: a published next key takes over at once, or a new key is made.
    plan.push(next ? { kind: 'promote', next: next.kid, current: undefined } : { kind: 'create-current' });
  } else if (next) {
    if (nowMs >= startsSigningAt(next, policy)) plan.push({ kind: 'promote', next: next.kid, current: current.kid });
  } else if (policy.rotationIntervalMs !== undefined) {
    // Published early enough that it takes over when the interval ends.
    const signingSince = (current.activatedAt ?? current.publishedAt).getTime();
    if (nowMs >= signingSince + policy.rotationIntervalMs - policy.publishDelayMs) plan.push({ kind: 'create-next' });
  }
  for (const key of keys) {
    if (key.state === 'previous' && nowMs >= leavesJwksAt(key, policy)) plan.push({ kind: 'expire', kid: key.kid });
  }
  return plan;
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
  /** The algorithms of the published keys, the current key's first. */
  readonly algorithms: readonly string[];
}

const PUBLICATION_ORDER: Record<string, number> = { current: 0, next: 1, previous: 2 };

/** The JWKS of the published keys: current first (naive verifiers take the first key), then next, then previous, newest first. */
export function publishKeys(keys: readonly KeyRecord[]): PublishedKeys {
  const published = keys
    .filter((key) => PUBLISHED_STATES.includes(key.state))
    .sort(
      (a, b) =>
        (PUBLICATION_ORDER[a.state] ?? 9) - (PUBLICATION_ORDER[b.state] ?? 9) ||
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
