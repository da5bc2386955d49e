// Short-lived, single-use state (sign-in flows, authorization codes): Redis
// in production, an in-process map on the embedded defaults. Both honour one
// contract: a value expires after its TTL, take() hands it out at most once,
// and claim() hands it out at most once while remembering that it did.
import { AppError } from '../errors.js';
import { connectRedis, type RedisClient } from '../store/redis.js';

export interface FlowStore {
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Reads and deletes in one step: of two concurrent takes, one gets the value. */
  take(key: string): Promise<string | null>;
  /**
   * Hands out the value under `key` at most once and leaves a mark in its
   * place for `markTtlSeconds`, in one step. A claim that finds the mark
   * answers what the first claim settled; when that is not settled yet, it
   * flags the mark, so that the first claim's settle() fails.
   */
  claim(key: string, markTtlSeconds: number): Promise<Claim>;
  /**
   * Records what the first claim of `key` led to (e.g. a session id), in one
   * step: false, recording nothing, when the key was claimed again meanwhile
   * (or its mark is gone), so the caller undoes what it did.
   */
  settle(key: string, outcome: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Claim =
  | { readonly kind: 'value'; readonly value: string }
  /** Claimed before; `outcome` is what the first claim settled, null while it has not. */
  | { readonly kind: 'claimed'; readonly outcome: string | null }
  | { readonly kind: 'absent' };

// A mark takes the value's place under the same key: every command stays on
// one key (and one Cluster slot). Marks start with a NUL, which no value
// put() stores begins with (they are JSON).
const CLAIMED = '\0claimed';
const CONTESTED = '\0contested';
const SETTLED = '\0settled:';
/** A mark as a Lua string literal: the NUL written as an escape. */
const lua = (mark: string) => `'${mark.replace('\0', '\\0')}'`;

const CLAIM_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if not value then return {'absent'} end
if string.byte(value, 1) ~= 0 then
  redis.call('SET', KEYS[1], ${lua(CLAIMED)}, 'EX', ARGV[1])
  return {'value', value}
end
if value == ${lua(CLAIMED)} then
  redis.call('SET', KEYS[1], ${lua(CONTESTED)}, 'KEEPTTL')
  return {'claimed'}
end
if value == ${lua(CONTESTED)} then return {'claimed'} end
return {'claimed', string.sub(value, ${SETTLED.length + 1})}
`;

const SETTLE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ${lua(CLAIMED)} then return 0 end
redis.call('SET', KEYS[1], ${lua(SETTLED)} .. ARGV[1], 'KEEPTTL')
return 1
`;

/** The scripts above, as ioredis defines them on the connection (EVALSHA, with the key prefix applied). */
interface ClaimCommands {
  roostClaim(key: string, markTtlSeconds: number): Promise<string[]>;
  roostSettle(key: string, outcome: string): Promise<number>;
}

/** One step of the claim contract on a plain map entry; the in-process store runs it synchronously, hence atomically. */
function claimEntry(value: string | undefined): { claim: Claim; next: string | undefined } {
  if (value === undefined) return { claim: { kind: 'absent' }, next: undefined };
  if (!value.startsWith('\0')) return { claim: { kind: 'value', value }, next: CLAIMED };
  if (value === CLAIMED) return { claim: { kind: 'claimed', outcome: null }, next: CONTESTED };
  if (value === CONTESTED) return { claim: { kind: 'claimed', outcome: null }, next: value };
  return { claim: { kind: 'claimed', outcome: value.slice(SETTLED.length) }, next: value };
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
  redis.defineCommand('roostClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
  redis.defineCommand('roostSettle', { numberOfKeys: 1, lua: SETTLE_SCRIPT });
  const scripts = redis as unknown as ClaimCommands;
  return {
    redis,
    put: (key, value, ttl) => call(async () => void (await redis.set(key, value, 'EX', ttl))),
    take: (key) => call(() => redis.getdel(key)),
    claim: (key, markTtl) =>
      call(async () => {
        const [kind, value] = await scripts.roostClaim(key, markTtl);
        if (kind === 'value') return { kind, value: value as string };
        return kind === 'claimed' ? { kind, outcome: value ?? null } : { kind: 'absent' };
      }),
    settle: (key, outcome) => call(async () => (await scripts.roostSettle(key, outcome)) === 1),
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
  const live = (key: string) => {
    const entry = entries.get(key);
    return entry && entry.expiresAt > now() ? entry : undefined;
  };
  return {
    put: async (key, value, ttl) => {
      entries.set(key, { value, expiresAt: now() + ttl * 1000 });
    },
    take: async (key) => {
      const entry = entries.get(key);
      entries.delete(key);
      return entry && entry.expiresAt > now() ? entry.value : null;
    },
    claim: async (key, markTtl) => {
      const entry = live(key);
      const { claim, next } = claimEntry(entry?.value);
      if (entry && next !== undefined) entries.set(key, { value: next, expiresAt: claim.kind === 'value' ? now() + markTtl * 1000 : entry.expiresAt });
      return claim;
    },
    settle: async (key, outcome) => {
      const entry = live(key);
      if (entry?.value !== CLAIMED) return false;
      entries.set(key, { value: `${SETTLED}${outcome}`, expiresAt: entry.expiresAt });
      return true;
    },
    ping: async () => {},
    close: async () => {
      clearInterval(sweep);
      entries.clear();
    },
  };
}
