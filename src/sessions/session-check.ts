// Whether the session behind an access token (its `sid`) is still signed in.
// Answers are cached in the process for a few seconds: /me stays one
// Postgres read per session per few seconds per replica instead of one per
// request, with no second source of truth to keep in step. A session ended
// by this replica is forgotten at once; another replica sees it within
// SESSION_CHECK_CACHE_MS. Ended sessions never come back, so "ended" is
// cached until evicted.
import type { Db } from '../store/db.js';
import { sessionEndsAt } from './policy.js';
import { findSessionState } from './queries.js';

export const SESSION_CHECK_CACHE_MS = 5000;
const MAX_ENTRIES = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SessionCheck {
  isActive(sid: unknown): Promise<boolean>;
  /** Drops the cached answer, after this process ended the session. */
  forget(sid: string): void;
}

/** idleSeconds: SESSION_IDLE_TTL, so that /me and POST /token agree on when a session ended. */
export function createSessionCheck(db: Db, now: () => number, idleSeconds: number): SessionCheck {
  const cache = new Map<string, { active: boolean; from: number; until: number; endsAt: number }>();
  return {
    async isActive(sid) {
      // Tokens roost issues always carry a session id; one without is refused (fail closed).
      if (typeof sid !== 'string' || !UUID.test(sid)) return false;
      const time = now();
      const cached = cache.get(sid);
      // A clock that went back does not stretch the bound: an answer from its future is asked again.
      if (cached && (!cached.active || (time >= cached.from && cached.until > time && cached.endsAt > time))) return cached.active;
      const state = await findSessionState(db, sid);
      const endsAt = state === undefined ? 0 : sessionEndsAt(state, idleSeconds);
      const active = endsAt > time;
      cache.delete(sid);
      cache.set(sid, { active, from: time, until: time + SESSION_CHECK_CACHE_MS, endsAt });
      // Maps keep insertion order: the first key is the oldest entry.
      if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
      return active;
    },
    forget(sid) {
      cache.delete(sid);
    },
  };
}
