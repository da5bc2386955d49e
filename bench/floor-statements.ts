// The SQL the floor sends: roost's own statements for each operation,
// recorded from its query functions (statements.ts) with a named sentinel
// for each value that changes from call to call. One round trip each.
import { insertSession, findSessionState } from '../src/sessions/queries.js';
import { rotateRefreshToken } from '../src/sessions/rotation.js';
import { findUser, upsertUser } from '../src/users/profiles.js';
import { recordStatements, templateOf, type StatementTemplate } from './statements.js';

export interface FloorStatements {
  /** Sign-in: the profile, inserted or updated by its Twitter id. */
  readonly upsertUser: StatementTemplate;
  /** Sign-in and code redemption: the new session. */
  readonly insertSession: StatementTemplate;
  /** Refresh: the live token rotated, its spent parent kept, the user read, in one statement. */
  readonly rotate: StatementTemplate;
  /** /me and code redemption. */
  readonly findUser: StatementTemplate;
  /** /me: the session check, once per session per few seconds. */
  readonly sessionState: StatementTemplate;
}

// Sentinels: values no real call passes, so each is found exactly where the code put it.
const text = (name: string) => `\u0000${name}`;
const NOW = new Date(1_000_000_000_000);
const EXPIRES = new Date(1_000_000_000_000 + 1_000_000);
const EXPIRES_AFTER = new Date(1_000_000_000_001);
const LAST_USED_AFTER = new Date(1_000_000_000_002);

async function only(run: Parameters<typeof recordStatements>[0], what: string) {
  const statements = await recordStatements(run);
  if (statements.length === 0) throw new Error(`${what} sent no statement`);
  return statements[0] as (typeof statements)[0];
}

export async function recordFloorStatements(): Promise<FloorStatements> {
  const profile = { twitterId: text('twitterId'), screenName: text('screenName'), name: text('name'), picture: text('picture'), email: text('email') };
  // A variable rather than a literal: the sealed credentials' shape differs between versions of upsertUser.
  const sealed = { protocol: 'oauth1' as const, token: text('token'), secret: text('secret') };
  const upsert = await only((db) => upsertUser(db, profile, sealed), 'upsertUser');
  const insert = await only(
    (db) =>
      insertSession(db, {
        userId: text('userId'),
        refreshHash: text('refreshHash'),
        refreshFamily: text('refreshFamily'),
        nowMs: NOW.getTime(),
        ttlSeconds: (EXPIRES.getTime() - NOW.getTime()) / 1000,
        userAgent: text('userAgent'),
        ip: text('ip'),
      }),
    'insertSession',
  );
  const rotate = await only(
    (db) =>
      rotateRefreshToken(db, {
        presentedHash: text('presentedHash'),
        nextHash: text('nextHash'),
        family: text('family'),
        nowMs: NOW.getTime(),
        bounds: { expiresAfter: EXPIRES_AFTER, lastUsedAfter: LAST_USED_AFTER },
      }),
    'rotateRefreshToken',
  );
  const user = await only((db) => findUser(db, text('userId')), 'findUser');
  const state = await only((db) => findSessionState(db, text('sessionId')), 'findSessionState');
  const named = (...names: string[]) => Object.fromEntries(names.map((name) => [name, text(name)]));
  return {
    upsertUser: templateOf(upsert, named('twitterId', 'screenName', 'name', 'picture', 'email', 'token', 'secret')),
    insertSession: templateOf(insert, { ...named('userId', 'refreshHash', 'refreshFamily', 'userAgent', 'ip'), now: NOW, expiresAt: EXPIRES }),
    rotate: templateOf(rotate, { ...named('presentedHash', 'nextHash', 'family'), now: NOW, expiresAfter: EXPIRES_AFTER, lastUsedAfter: LAST_USED_AFTER }),
    findUser: templateOf(user, named('userId')),
    sessionState: templateOf(state, named('sessionId')),
  };
}
