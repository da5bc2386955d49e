// Sessions seen from the token endpoint: opening one at sign-in, the
// authorization_code grant with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5) and
// the refresh_token grant (RFC 6749 §6) with rotation and reuse detection.
import { redeemCode, rememberRedeemedCode } from '../sign-in/auth-codes.js';
import type { Config } from '../config.js';
import type { Db } from '../store/db.js';
import { AppError } from '../errors.js';
import type { FlowStore } from '../sign-in/flow-store.js';
import type { SigningKey } from '../keys/signing-keys.js';
import { verifierMatches } from '../sign-in/pkce.js';
import { hashRefreshToken, isWellFormedRefreshToken, newRefreshToken, nextRefreshToken, refreshChainKey } from './refresh-tokens.js';
import { checkReturnTo } from '../sign-in/return-to.js';
import type { SessionCheck } from './session-check.js';
import { decideRefresh } from './policy.js';
import { findSessionByRefreshHash, insertSession, revokeSession, rotateRefreshHash, touchSession } from './queries.js';
import { issueAccessToken } from '../keys/access-tokens.js';
import { findUser, type User } from '../users/profiles.js';

export interface GrantDeps {
  readonly config: Pick<Config, 'publicUrl' | 'jwtAudience' | 'accessTokenTtl' | 'sessionTtl' | 'sessionIdleTtl' | 'refreshReuseGrace' | 'returnToOrigins'>;
  readonly db: Db;
  readonly store: FlowStore;
  readonly signingKey: () => SigningKey;
  readonly encryptionKey: Buffer;
  readonly sessionCheck: SessionCheck;
  readonly now: () => number;
  /** Told when a session ends because an old refresh token came back. */
  readonly onReuse?: (sessionId: string) => void;
}

/** What the client may read about the browser it runs in; stored with the session for the user's session list. */
export interface ClientInfo {
  readonly userAgent: string | null;
  readonly ip: string | null;
}

/** RFC 6749 §5.1. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
}

/** Opens a session for a user who just signed in, and issues its first tokens. */
export async function openSession(deps: GrantDeps, user: User, client: ClientInfo): Promise<{ sessionId: string; response: TokenResponse }> {
  const refreshToken = newRefreshToken();
  const session = await insertSession(deps.db, {
    userId: user.id,
    refreshHash: hashRefreshToken(refreshToken),
    nowMs: deps.now(),
    ttlSeconds: deps.config.sessionTtl,
    ...client,
  });
  if (!session) throw invalidGrant('The user of this sign-in no longer exists');
  return { sessionId: session.id, response: await tokenResponse(deps, user, session.id, refreshToken) };
}

export interface CodeRedemption {
  readonly code: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export async function authorizationCodeGrant(deps: GrantDeps, request: CodeRedemption, client: ClientInfo): Promise<TokenResponse> {
  const redemption = await redeemCode(deps.store, request.code, deps.now());
  switch (redemption.kind) {
    case 'unknown':
      throw invalidGrant('The code is unknown or already used');
    case 'expired':
      throw invalidGrant('The code has expired; sign in again');
    case 'replayed':
      // RFC 6749 §4.1.2: a code used twice may have leaked; what it issued is revoked.
      await revokeSession(deps.db, redemption.sessionId, 'code_replay', deps.now());
      deps.sessionCheck.forget(redemption.sessionId);
      deps.onReuse?.(redemption.sessionId);
      throw invalidGrant('The code was already used; the session it opened has been ended');
  }
  const { grant } = redemption;
  // §4.1.3: the same redirect URI as in the authorization request, compared after the same normalisation.
  const target = checkReturnTo(request.redirectUri, deps.config.returnToOrigins);
  if (!target.ok || target.url !== grant.redirectUri) throw invalidGrant('redirect_uri does not match the return_to of the sign-in');
  if (!verifierMatches(request.codeVerifier, grant.challenge)) throw invalidGrant('code_verifier does not match the code_challenge');
  const user = await findUser(deps.db, grant.userId);
  if (!user) throw invalidGrant('The user of this sign-in no longer exists');
  const tokens = await openSession(deps, user, client);
  await rememberRedeemedCode(deps.store, request.code, tokens.sessionId);
  return tokens.response;
}

export async function refreshGrant(deps: GrantDeps, presented: string): Promise<TokenResponse> {
  if (!isWellFormedRefreshToken(presented)) throw invalidGrant('The refresh token is malformed');
  const presentedHash = hashRefreshToken(presented);
  const chainKey = refreshChainKey(deps.encryptionKey);
  const next = nextRefreshToken(chainKey, presented);
  const nextHash = hashRefreshToken(next);
  // A second pass only when a concurrent refresh rotated the same token between our read and our write.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const found = await findSessionByRefreshHash(deps.db, presentedHash);
    if (!found) throw invalidGrant('The refresh token is unknown');
    const { row } = found;
    const nowMs = deps.now();
    const decision = decideRefresh(
      { revokedAt: row.revoked_at, expiresAt: row.expires_at, lastUsedAt: row.last_used_at, spentAt: found.spentAt, childIsLive: row.refresh_hash === nextHash },
      nowMs,
      { idleSeconds: deps.config.sessionIdleTtl, graceSeconds: deps.config.refreshReuseGrace },
    );
    switch (decision) {
      case 'revoked':
        throw invalidGrant('The session of this refresh token has ended');
      case 'expired':
        throw invalidGrant('The session has reached its maximum lifetime; sign in again');
      case 'idle':
        throw invalidGrant('The session was idle for too long; sign in again');
      case 'reuse':
        // RFC 9700 §4.14.2: an old token again means two parties hold it; end the session for both.
        await revokeSession(deps.db, row.id, 'refresh_token_reuse', nowMs);
        deps.sessionCheck.forget(row.id);
        deps.onReuse?.(row.id);
        throw invalidGrant('This refresh token was already used; the session has been ended');
      case 'repeat':
        await touchSession(deps.db, row.id, nowMs);
        return tokenResponse(deps, await userOf(deps, row.user_id), row.id, next);
      case 'rotate':
        if (await rotateRefreshHash(deps.db, row.id, presentedHash, nextHash, nowMs)) {
          return tokenResponse(deps, await userOf(deps, row.user_id), row.id, next);
        }
    }
  }
  throw invalidGrant('The refresh token could not be used; try again');
}

async function userOf(deps: GrantDeps, userId: string): Promise<User> {
  const user = await findUser(deps.db, userId);
  if (!user) throw invalidGrant('The user of this session no longer exists');
  return user;
}

async function tokenResponse(deps: GrantDeps, user: User, sessionId: string, refreshToken: string): Promise<TokenResponse> {
  const settings = { issuer: deps.config.publicUrl, audience: deps.config.jwtAudience, ttlSeconds: deps.config.accessTokenTtl };
  const accessToken = await issueAccessToken(user, settings, deps.signingKey(), deps.now(), sessionId);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: settings.ttlSeconds, refresh_token: refreshToken };
}

/** RFC 6749 §5.2: the `error` member says what an OAuth client library expects to read. */
export function invalidGrant(detail: string): AppError {
  return new AppError('invalid_grant', detail, { members: { error: 'invalid_grant' } });
}
