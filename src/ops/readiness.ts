// Readiness: may this replica take traffic? Postgres and Redis answer within
// a short bound, every migration this code knows is applied, and it can sign
// tokens. Each check is named in the answer, so an operator (or a test) sees
// which one failed.
import { AppError } from '../errors.js';
import type { Db } from '../store/db.js';
import { pendingMigrations } from '../store/db.js';
import type { FlowStore } from '../sign-in/flow-store.js';
import type { SigningKey } from '../keys/signing-keys.js';

export interface Readiness {
  readonly status: 'ok' | 'unavailable';
  readonly checks: {
    /** ok, or down when a query fails or is slower than the bound. */
    readonly postgres: 'ok' | 'down';
    /** ok, or down when PING fails or is slower than the bound; not configured without REDIS_URL (flows are kept in memory). */
    readonly redis: 'ok' | 'down' | 'not configured';
    /** ok, pending when a known migration is not applied, unknown while Postgres is down. */
    readonly migrations: 'ok' | 'pending' | 'unknown';
    /** ok; unusable when the current key cannot be opened or is gone (the replica signs nothing); missing when none is loaded. */
    readonly signing_key: 'ok' | 'missing' | 'unusable';
  };
  /** Why each failed check failed, for the log only (a driver's message may name hosts or users). */
  readonly reasons: Readonly<Record<string, string>>;
  /** The reasons that are safe to send, written for the operator: only the signing key's. */
  readonly shareableReasons: Readonly<Record<string, string>>;
}

export interface ReadinessDeps {
  readonly db: Db;
  readonly store: Pick<FlowStore, 'ping'>;
  /** False when REDIS_URL is unset and the flow store is this process's memory. */
  readonly redisConfigured: boolean;
  /** Throws an AppError signing_key_unavailable while the replica may not sign (see keys/key-ring.ts). */
  readonly signingKey: () => SigningKey | undefined;
}

export const READINESS_TIMEOUT_MS = 1000;

export async function checkReadiness(deps: ReadinessDeps, timeoutMs = READINESS_TIMEOUT_MS): Promise<Readiness> {
  const reasons: Record<string, string> = {};
  // One query answers two questions: Postgres is reachable, and which migrations it has.
  const [pending, ping] = await Promise.allSettled([within(timeoutMs, pendingMigrations(deps.db)), within(timeoutMs, deps.store.ping())]);
  if (pending.status === 'rejected') reasons.postgres = messageOf(pending.reason);
  else if (pending.value.length > 0) reasons.migrations = `not applied: ${pending.value.join(', ')}`;
  if (ping.status === 'rejected') reasons.redis = messageOf(ping.reason);
  const shareableReasons: Record<string, string> = {};
  let signingKey: Readiness['checks']['signing_key'] = 'missing';
  try {
    if (deps.signingKey()) signingKey = 'ok';
    else reasons.signing_key = 'no signing key is loaded';
  } catch (error) {
    reasons.signing_key = messageOf(error);
    if (error instanceof AppError && error.code === 'signing_key_unavailable') {
      signingKey = 'unusable';
      // Names only a kid (public) and what to do: the operator reads it from the probe.
      shareableReasons.signing_key = error.cause instanceof Error ? error.cause.message : error.detail;
    }
  }
  const checks = {
    postgres: pending.status === 'fulfilled' ? 'ok' : 'down',
    redis: ping.status === 'rejected' ? 'down' : deps.redisConfigured ? 'ok' : 'not configured',
    migrations: pending.status === 'rejected' ? 'unknown' : pending.value.length === 0 ? 'ok' : 'pending',
    signing_key: signingKey,
  } as const;
  const ready = Object.values(checks).every((state) => state === 'ok' || state === 'not configured');
  return { status: ready ? 'ok' : 'unavailable', checks, reasons, shareableReasons };
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
