// Sessions seen from the token endpoint: opening one at sign-in, the
// authorization_code grant with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5) and
// the refresh_token grant (RFC 6749 §6) with rotation and reuse detection.
import { recordRedemption, redeemCode } from '../sign-in/auth-codes.js';
import type { Config } from '../config.js';
import type { Db } from '../store/db.js';
import { AppError } from '../errors.js';
import type { FlowStore } from '../sign-in/flow-store.js';
import type { SigningKey } from '../keys/signing-keys.js';
import { verifierMatches } from '../sign-in/pkce.js';
import { hashRefreshToken, isWellFormedRefreshToken, legacyNextRefreshToken, newRefreshToken, nextRefreshToken, refreshFamily } from './refresh-tokens.js';
import type { RefreshChain } from './refresh-chain.js';
import type { SessionCheck } from './session-check.js';
import { decideRefresh, rotationBounds } from './policy.js';
import { findSessionByRefreshFamily, findSessionByRefreshHash, insertSession, revokeSession, touchSession, type SessionRow } from './queries.js';
import { rotateRefreshToken } from './rotation.js';
import { issueAccessToken, issueClientAccessToken } from '../keys/access-tokens.js';
import { findUser, type User } from '../users/profiles.js';

export interface GrantDeps {
  readonly config: Pick<Config, 'publicUrl' | 'jwtAudience' | 'accessTokenTtl' | 'sessionTtl' | 'sessionIdleTtl' | 'refreshReuseGrace'>;
  readonly db: Db;
  readonly store: FlowStore;
  readonly signingKey: () => SigningKey;
  readonly refreshChain: RefreshChain;
  readonly sessionCheck: SessionCheck;
  readonly now: () => number;
  /** Told when a session ends because an old refresh token or a used code came back. */
  /** Awaited: what it records is in place before the refusal is answered. */
  readonly onReuse?: (sessionId: string, reuse: Reuse) => void | Promise<void>;
  /**
   * Told when a refresh is answered again with the token its first use got
   * (the grace window): which chain key derived it, and whether this refresh
   * first found the token live and lost its rotation to one running at once.
   */
  readonly onRepeat?: (sessionId: string, derivation: Derivation, concurrent: boolean) => void;
  /** A refresh found its session past its lifetime or idle limit, and ended it: awaited, like onReuse. */
  readonly onExpired?: (sessionId: string, userId: string, why: 'expired' | 'idle') => void | Promise<void>;
  /** Signs the ID token of a registered client's session (the OpenID Connect provider); absent without one. */
  readonly idTokens?: IdTokenIssuer;
}

/** Who an OpenID Connect session was opened for, and what it was granted. */
export interface SessionClient {
  readonly clientId: string;
  /** Space-separated, as granted. */
  readonly scope: string;
  /** When the person signed in at X. */
  readonly authTimeMs: number;
  /** Only in the ID token of the code's redemption (OIDC Core §12.2). */
  readonly nonce?: string | undefined;
}

export type IdTokenIssuer = (user: User, sessionId: string, accessToken: string, client: SessionClient) => Promise<string>;

/** The refresh token of a registered client's session is handed out only with offline_access (OIDC Core §11). */
export function grantsRefreshToken(client: SessionClient | undefined): boolean {
  return client === undefined || client.scope.split(' ').includes('offline_access');
}

/**
 * What came back: a spent refresh token; a code redeemed before; or a code
 * redeemed again while its first redemption was still opening the session,
 * which that first redemption then ends.
 */
export type Reuse = 'refresh_token' | 'code' | 'code_during_redemption';

/** 'current': the chain secret; 'legacy': a key derived from ENCRYPTION_KEY, as before the chain secret. */
export type Derivation = 'current' | 'legacy';

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

/** A registered client's answer (OIDC Core §3.1.3.3): scope and id_token; a refresh token only with offline_access. */
export interface ClientTokenResponse extends Omit<TokenResponse, 'refresh_token'> {
  readonly refresh_token?: string;
  readonly scope: string;
  readonly id_token: string;
}

export type GrantResponse = TokenResponse | ClientTokenResponse;

/** Opens a session for a user who just signed in, and issues its first tokens; `claims` (the sign-in hook's) go into every token of it. */
export async function openSession(
  deps: GrantDeps,
  user: User,
  client: ClientInfo,
  claims?: Readonly<Record<string, unknown>>,
): Promise<{ sessionId: string; response: TokenResponse }> {
  const refreshToken = newRefreshToken();
  const session = await insertSession(deps.db, {
    claims,
    userId: user.id,
    refreshHash: hashRefreshToken(refreshToken),
    refreshFamily: refreshFamily(refreshToken),
    nowMs: deps.now(),
    ttlSeconds: deps.config.sessionTtl,
    ...client,
  });
  if (!session) throw invalidGrant('The user of this sign-in no longer exists or is suspended');
  return { sessionId: session.id, response: await tokenResponse(deps, user, session.id, refreshToken, claims) };
}

/** Opens a registered client's session, from the browser session the person signed in with, and issues its first tokens. */
export async function openClientSession(
  deps: GrantDeps,
  user: User,
  info: ClientInfo,
  claims: Readonly<Record<string, unknown>> | undefined,
  client: SessionClient,
  browserSessionId: string | null,
): Promise<{ sessionId: string; response: ClientTokenResponse }> {
  const refreshToken = newRefreshToken();
  const session = await insertSession(deps.db, {
    claims,
    kind: 'oidc',
    clientId: client.clientId,
    scope: client.scope,
    authTimeMs: client.authTimeMs,
    browserSessionId,
    userId: user.id,
    refreshHash: hashRefreshToken(refreshToken),
    refreshFamily: refreshFamily(refreshToken),
    nowMs: deps.now(),
    ttlSeconds: deps.config.sessionTtl,
    ...info,
  });
  if (!session) throw invalidGrant('The sign-in this code came from has ended (a logout), or its user no longer exists or is suspended');
  return { sessionId: session.id, response: await clientTokenResponse(deps, user, session.id, refreshToken, claims, client) };
}

export interface CodeRedemption {
  readonly code: string;
  /** Required unless a confidential client authenticated and its authorization request had no code_challenge. */
  readonly codeVerifier: string | undefined;
  readonly redirectUri: string;
}

/**
 * `clientId`: the registered client that authenticated, or null for roost's
 * own apps. A code works only for whom it was issued to: a registered
 * client's code for that client, roost's own codes without one.
 */
export async function authorizationCodeGrant(deps: GrantDeps, request: CodeRedemption, client: ClientInfo, clientId: string | null = null): Promise<GrantResponse> {
  // A registered client's code is found only by that client (auth-codes.ts): another request cannot spend it.
  const redemption = await redeemCode(deps.store, request.code, deps.now(), clientId);
  switch (redemption.kind) {
    case 'unknown':
      throw invalidGrant('The code is unknown or already used');
    case 'expired':
      throw invalidGrant('The code has expired; sign in again');
    case 'replayed':
      // RFC 6749 §4.1.2: a code used twice may have leaked; what it issued is revoked. A first
      // redemption still opening its session finds the code replayed when it records it, and ends it.
      if (redemption.sessionId !== null) await endSession(deps, redemption.sessionId, 'code_replay', 'code');
      throw invalidGrant('The code was already used; the session it opened has been ended');
  }
  const { grant } = redemption;
  const issuedTo = grant.oidc?.clientId ?? null;
  // Found under the client's own key, so these hold; checked all the same.
  if (issuedTo !== clientId) throw invalidGrant(issuedTo === null ? 'This code was not issued to a registered client' : 'This code was issued to another client');
  // §4.1.3: identical to the redirect URI of the authorization request, character for character.
  if (request.redirectUri !== grant.redirectUri) throw invalidGrant(issuedTo === null ? 'redirect_uri does not match the return_to of the sign-in' : 'redirect_uri does not match the authorization request');
  if (grant.challenge === null) {
    // RFC 9700 §2.1.1: a verifier without a challenge is refused, so PKCE cannot be stripped from the request alone.
    if (request.codeVerifier !== undefined) throw invalidGrant('code_verifier was sent, but the authorization request had no code_challenge');
  } else if (request.codeVerifier === undefined) {
    throw invalidGrant('code_verifier is required: the authorization request had a code_challenge');
  } else if (!verifierMatches(request.codeVerifier, grant.challenge)) {
    throw invalidGrant('code_verifier does not match the code_challenge');
  }
  const user = await findUser(deps.db, grant.userId);
  if (!user) throw invalidGrant('The user of this sign-in no longer exists');
  const tokens = grant.oidc
    ? await openClientSession(deps, user, client, grant.claims, grant.oidc, grant.oidc.browserSessionId)
    : await openSession(deps, user, client, grant.claims);
  if (!(await recordRedemption(deps.store, request.code, tokens.sessionId, clientId))) {
    await endSession(deps, tokens.sessionId, 'code_replay', 'code_during_redemption');
    throw invalidGrant('The code was used again while it was being redeemed; the session it opened has been ended');
  }
  return tokens.response;
}

/**
 * `clientId`: the registered client that authenticated, or null for roost's
 * own apps. A refresh token works only for the client it was issued to.
 */
export async function refreshGrant(deps: GrantDeps, presented: string): Promise<TokenResponse>;
export async function refreshGrant(deps: GrantDeps, presented: string, clientId: string | null): Promise<GrantResponse>;
export async function refreshGrant(deps: GrantDeps, presented: string, clientId: string | null = null): Promise<GrantResponse> {
  if (!isWellFormedRefreshToken(presented)) throw invalidGrant('The refresh token is malformed');
  const presentedHash = hashRefreshToken(presented);
  const next = nextRefreshToken(deps.refreshChain.key, presented);
  const rotation = { presentedHash, nextHash: hashRefreshToken(next), family: refreshFamily(presented), clientId };
  // The common case, the live token of a live session, in one statement.
  const nowMs = deps.now();
  const first = await rotateRefreshToken(deps.db, { ...rotation, nowMs, bounds: rotationBounds(nowMs, deps.config.sessionIdleTtl) });
  if (first.kind === 'rotated') return tokenResponse(deps, rotatedUser(first.user), first.sessionId, next, first.claims, first.client);
  if (first.kind === 'kept') {
    const { session } = first;
    if (session.client_id !== clientId) throw otherClient(clientId);
    const decision = decideRefresh(
      { revokedAt: session.revoked_at, expiresAt: session.expires_at, lastUsedAt: session.last_used_at, spentAt: null, childIsLive: false },
      nowMs,
      { idleSeconds: deps.config.sessionIdleTtl, graceSeconds: deps.config.refreshReuseGrace },
    );
    if (decision === 'expired' || decision === 'idle') await expire(deps, session, decision);
    if (decision === 'revoked' || decision === 'expired' || decision === 'idle') throw refusal(decision);
    // The token was live and may rotate ('rotate': a live token is never repeated nor reused), yet did
    // not: a concurrent refresh rotated it first.
    return refreshByLookup(deps, presented, next, rotation, 1);
  }
  return refreshByLookup(deps, presented, next, rotation, 0);
}

/**
 * Every other case: the token was spent (a repeat within the grace window,
 * or reuse), is a forgotten one of a session, or is unknown; or it was live
 * and a concurrent refresh rotated it between the statement's read and its
 * write (`attempt` 1 then, so that it is reported as concurrent).
 */
async function refreshByLookup(
  deps: GrantDeps,
  presented: string,
  next: string,
  rotation: { presentedHash: string; nextHash: string; family: string; clientId: string | null },
  firstAttempt: number,
): Promise<GrantResponse> {
  // A second pass only when a concurrent refresh rotated the same token between our read and our write.
  for (let attempt = firstAttempt; attempt < 2; attempt += 1) {
    const found = (await findSessionByRefreshHash(deps.db, rotation.presentedHash)) ?? (await findSessionByRefreshFamily(deps.db, rotation.family));
    if (!found) throw invalidGrant('The refresh token is unknown');
    const { row } = found;
    // Before anything is decided or ended: another client's token tells nothing about this session.
    if ((row.client_id ?? null) !== rotation.clientId) throw otherClient(rotation.clientId);
    const child = found.spentAt instanceof Date ? liveChild(deps.refreshChain, presented, row.refresh_hash, { token: next, hash: rotation.nextHash }) : undefined;
    const nowMs = deps.now();
    const decision = decideRefresh(
      { revokedAt: row.revoked_at, expiresAt: row.expires_at, lastUsedAt: row.last_used_at, spentAt: found.spentAt, childIsLive: child !== undefined },
      nowMs,
      { idleSeconds: deps.config.sessionIdleTtl, graceSeconds: deps.config.refreshReuseGrace },
    );
    switch (decision) {
      case 'expired':
      case 'idle':
        await expire(deps, row, decision);
        throw refusal(decision);
      case 'revoked':
        throw refusal(decision);
      case 'reuse':
        // RFC 9700 §4.14.2: an old token again means two parties hold it; end the session for both.
        await endSession(deps, row.id, 'refresh_token_reuse', 'refresh_token');
        throw invalidGrant('This refresh token was already used; the session has been ended');
      case 'repeat': {
        // Only a token whose child is live is repeated.
        const { token, derivation } = child as NonNullable<typeof child>;
        await touchSession(deps.db, row.id, nowMs);
        deps.onRepeat?.(row.id, derivation, attempt > 0);
        return tokenResponse(deps, await userOf(deps, row.user_id), row.id, token, row.claims, sessionClient(row));
      }
      case 'rotate': {
        const rotated = await rotateRefreshToken(deps.db, { ...rotation, nowMs, bounds: rotationBounds(nowMs, deps.config.sessionIdleTtl) });
        if (rotated.kind === 'rotated') return tokenResponse(deps, rotatedUser(rotated.user), rotated.sessionId, next, rotated.claims, rotated.client);
      }
    }
  }
  throw invalidGrant('The refresh token could not be used; try again');
}

/** Why a session refuses a refresh, worded for the client. */
function refusal(decision: 'revoked' | 'expired' | 'idle'): AppError {
  switch (decision) {
    case 'revoked':
      return invalidGrant('The session of this refresh token has ended');
    case 'expired':
      return invalidGrant('The session has reached its maximum lifetime; sign in again');
    case 'idle':
      return invalidGrant('The session was idle for too long; sign in again');
  }
}

function rotatedUser(user: User | undefined): User {
  if (!user) throw invalidGrant('The user of this session no longer exists');
  return user;
}

/**
 * The token a spent one was exchanged for, when it is still the session's
 * live token. Derived with the chain secret, or, for a rotation made before
 * the chain secret existed, with a key derived from ENCRYPTION_KEY or one of
 * ENCRYPTION_KEYS_PREVIOUS.
 */
function liveChild(chain: RefreshChain, parent: string, liveHash: string, next: { token: string; hash: string }): { token: string; derivation: Derivation } | undefined {
  if (liveHash === next.hash) return { token: next.token, derivation: 'current' };
  for (const key of chain.legacyKeys) {
    const token = legacyNextRefreshToken(key, parent);
    if (hashRefreshToken(token) === liveHash) return { token, derivation: 'legacy' };
  }
  return undefined;
}

/**
 * A session found past its limits ends for good, and is told once (the
 * audit log's expiry): a session no one refreshes again ends unnoticed.
 */
async function expire(deps: GrantDeps, session: { readonly id: string; readonly user_id: string }, why: 'expired' | 'idle'): Promise<void> {
  if (await revokeSession(deps.db, session.id, why, deps.now())) {
    deps.sessionCheck.forget(session.id);
    await deps.onExpired?.(session.id, session.user_id, why);
  }
}

async function endSession(deps: GrantDeps, sessionId: string, reason: string, reuse: Reuse): Promise<void> {
  await revokeSession(deps.db, sessionId, reason, deps.now());
  deps.sessionCheck.forget(sessionId);
  await deps.onReuse?.(sessionId, reuse);
}

async function userOf(deps: GrantDeps, userId: string): Promise<User> {
  const user = await findUser(deps.db, userId);
  if (!user) throw invalidGrant('The user of this session no longer exists');
  return user;
}

async function tokenResponse(deps: GrantDeps, user: User, sessionId: string, refreshToken: string, claims?: Readonly<Record<string, unknown>> | null): Promise<TokenResponse>;
async function tokenResponse(
  deps: GrantDeps,
  user: User,
  sessionId: string,
  refreshToken: string,
  claims: Readonly<Record<string, unknown>> | null | undefined,
  client: SessionClient | undefined,
): Promise<GrantResponse>;
async function tokenResponse(
  deps: GrantDeps,
  user: User,
  sessionId: string,
  refreshToken: string,
  claims?: Readonly<Record<string, unknown>> | null,
  client?: SessionClient,
): Promise<GrantResponse> {
  if (client !== undefined) return clientTokenResponse(deps, user, sessionId, refreshToken, claims, client);
  const settings = { issuer: deps.config.publicUrl, audience: deps.config.jwtAudience, ttlSeconds: deps.config.accessTokenTtl };
  const accessToken = await issueAccessToken(user, settings, deps.signingKey(), deps.now(), sessionId, claims);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: settings.ttlSeconds, refresh_token: refreshToken };
}

async function clientTokenResponse(
  deps: GrantDeps,
  user: User,
  sessionId: string,
  refreshToken: string,
  claims: Readonly<Record<string, unknown>> | null | undefined,
  client: SessionClient,
): Promise<ClientTokenResponse> {
  // A registered client's access token is for /userinfo (RFC 9068: client_id and scope in it).
  const settings = { issuer: deps.config.publicUrl, audience: userinfoAudience(deps.config.publicUrl), ttlSeconds: deps.config.accessTokenTtl };
  const accessToken = await issueClientAccessToken(user.id, settings, deps.signingKey(), deps.now(), { sid: sessionId, clientId: client.clientId, scope: client.scope }, claims);
  if (deps.idTokens === undefined) throw new AppError('internal_error', 'ID tokens cannot be signed here');
  const idToken = await deps.idTokens(user, sessionId, accessToken, client);
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: settings.ttlSeconds,
    scope: client.scope,
    id_token: idToken,
    ...(grantsRefreshToken(client) ? { refresh_token: refreshToken } : {}),
  };
}

/** The audience of a registered client's access tokens: the UserInfo endpoint, where they are spent. */
export function userinfoAudience(publicUrl: string): string {
  return `${publicUrl}/userinfo`;
}

function sessionClient(row: Pick<SessionRow, 'client_id' | 'scope' | 'auth_time' | 'created_at'>): SessionClient | undefined {
  if (row.client_id === null || row.client_id === undefined) return undefined;
  return { clientId: row.client_id, scope: row.scope ?? 'openid', authTimeMs: (row.auth_time ?? row.created_at).getTime() };
}

/** A registered client's refresh token without that client's authentication, or another client's token. */
function otherClient(clientId: string | null): AppError {
  if (clientId === null) {
    return new AppError('invalid_client', 'This refresh token was issued to a registered client: authenticate as that client', { members: { error: 'invalid_client' } });
  }
  return invalidGrant('This refresh token was issued to another client');
}

/** RFC 6749 §5.2: the `error` member says what an OAuth client library expects to read. */
export function invalidGrant(detail: string): AppError {
  return new AppError('invalid_grant', detail, { members: { error: 'invalid_grant' } });
}
