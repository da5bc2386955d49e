// The profile GET /me answers with, read once per session per
// SESSION_CHECK_CACHE_MS rather than once per request. It is asked only
// after the session check found the session live, so an ended session (a
// sign-out, a ban, a deleted account) is refused before anything here is
// read, at once on the replica that ended it. What is cached is only how
// stale the profile may be: a profile changes at a sign-in (which opens a new
// session, so a new entry) and a deleted user's sessions end with it; either
// is seen everywhere within SESSION_CHECK_CACHE_MS.
import { SESSION_CHECK_CACHE_MS } from './session-check.js';

const MAX_ENTRIES = 10_000;

/** T: the profile as the caller keeps it (GET /me keeps its answer's JSON). */
export interface SessionProfiles<T> {
  /** The profile of user `sub` in session `sid`, from the cache or from `read`; undefined when there is no such user. */
  find(sid: string, sub: string, read: (sub: string) => Promise<T | undefined>): Promise<T | undefined>;
}

export function createSessionProfiles<T>(now: () => number, options: { maxEntries?: number; maxAgeMs?: number } = {}): SessionProfiles<T> {
  const maxEntries = options.maxEntries ?? MAX_ENTRIES;
  const maxAgeMs = options.maxAgeMs ?? SESSION_CHECK_CACHE_MS;
  const entries = new Map<string, { readonly sub: string; readonly profile: T; readonly from: number; readonly until: number }>();
  return {
    async find(sid, sub, read) {
      const time = now();
      const entry = entries.get(sid);
      if (entry !== undefined && entry.sub === sub && time >= entry.from && time < entry.until) return entry.profile;
      const profile = await read(sub);
      entries.delete(sid);
      // A missing user is not remembered: the next request asks again.
      if (profile !== undefined) {
        entries.set(sid, { sub, profile, from: time, until: time + maxAgeMs });
        // Maps keep insertion order: the first key is the oldest entry.
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      }
      return profile;
    },
  };
}
