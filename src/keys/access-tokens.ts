// Access tokens: JWTs per RFC 9068, signed with the current key. Claim
// building is pure; signing and verifying are compact-jws.ts's, with the
// claim checks of RFC 9068 §4 here.
import { randomUUID } from 'node:crypto';
import { errors, type JWTPayload } from 'jose';
import { importVerificationKeys, signJwt, verifyJwt, type VerificationKeys } from './compact-jws.js';
import type { PublicJwk, SigningKey } from './signing-keys.js';
import type { User } from '../users/profiles.js';

/** RFC 8725 §3.11 explicit typing: an access token is never mistaken for another JWT. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly ttlSeconds: number;
}

export interface AccessClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud?: string;
  iat: number;
  exp: number;
  jti: string;
  /** The session the token was issued in; /me refuses tokens of ended sessions. */
  sid?: string;
  screen_name: string;
  name: string;
  picture: string | null;
  twitter_id: string;
  /** Only when X returned a confirmed address (TWITTER_EMAIL not off). */
  email?: string;
  email_verified?: true;
}

/**
 * `extra`: the claims the sign-in hook added to the session. They come first,
 * so no registered or roost claim can be replaced by one (the hook's answer
 * is refused before that, too).
 */
export function buildAccessClaims(user: User, settings: TokenSettings, nowMs: number, jti: string, sid?: string, extra?: Readonly<Record<string, unknown>> | null): AccessClaims {
  const iat = Math.floor(nowMs / 1000);
  return {
    ...extra,
    iss: settings.issuer,
    sub: user.id,
    ...(settings.audience !== undefined ? { aud: settings.audience } : {}),
    iat,
    exp: iat + settings.ttlSeconds,
    jti,
    ...(sid !== undefined ? { sid } : {}),
    screen_name: user.screen_name,
    name: user.name,
    picture: user.picture,
    twitter_id: user.twitter_id,
    // X returns an email only once the user confirmed it: present means verified.
    ...(user.email !== null ? { email: user.email, email_verified: true as const } : {}),
  };
}

export function signAccessToken(claims: AccessClaims, key: SigningKey): Promise<string> {
  return signJwt(claims, key, ACCESS_TOKEN_TYPE);
}

export async function issueAccessToken(
  user: User,
  settings: TokenSettings,
  key: SigningKey,
  nowMs: number,
  sid?: string,
  extra?: Readonly<Record<string, unknown>> | null,
): Promise<string> {
  return signAccessToken(buildAccessClaims(user, settings, nowMs, randomUUID(), sid, extra), key);
}

/**
 * A registered OpenID Connect client's access token (RFC 9068): who, for
 * which client, with which scope, in which session; the profile is read at
 * /userinfo by scope, so the token carries none of it. `extra` (the sign-in
 * hook's claims) comes first, so it replaces none of these.
 */
export async function issueClientAccessToken(
  userId: string,
  settings: TokenSettings & { readonly audience: string },
  key: SigningKey,
  nowMs: number,
  grant: { readonly sid: string; readonly clientId: string; readonly scope: string },
  extra?: Readonly<Record<string, unknown>> | null,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const claims = {
    ...extra,
    iss: settings.issuer,
    sub: userId,
    aud: settings.audience,
    iat,
    exp: iat + settings.ttlSeconds,
    jti: randomUUID(),
    sid: grant.sid,
    client_id: grant.clientId,
    scope: grant.scope,
  };
  return signJwt(claims, key, ACCESS_TOKEN_TYPE);
}

export type AccessTokenVerifier = (token: string, nowMs: number) => Promise<AccessClaims>;

type KeySet = { readonly keys: readonly PublicJwk[] };

/**
 * Verifies against the published keys only, with the algorithm pinned to
 * the ones those keys declare (RFC 8725 §3.1). Given a function, it follows
 * the key set it returns, importing the keys again only when the set changes.
 *
 * The checks are jose's jwtVerify's with `issuer`, `audience`, `typ` and
 * `requiredClaims: ['sub', 'iat', 'exp', 'jti']`, no clock tolerance, and
 * stricter where roost's own tokens cannot differ: see verifyJwt for the
 * JWS; `sub` and `jti` are strings and the times finite numbers.
 */
export function createAccessTokenVerifier(jwks: KeySet | (() => KeySet), settings: TokenSettings): AccessTokenVerifier {
  const current = typeof jwks === 'function' ? jwks : () => jwks;
  let built: { readonly from: KeySet; readonly keys: VerificationKeys } | undefined;
  return async (token, nowMs) => {
    const set = current();
    if (built?.from !== set) built = { from: set, keys: importVerificationKeys(set.keys) };
    const { header, payload } = verifyJwt(token, built.keys);
    return checkAccessClaims(header, payload, settings, nowMs);
  };
}

/** RFC 9068 §2.1 written as RFC 7515 §4.1.9 allows: "at+jwt" or "application/at+jwt", in any case (jose compares the same way). */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return (typ.includes('/') ? lower : `application/${lower}`) === `application/${ACCESS_TOKEN_TYPE}`;
}

/** RFC 9068 §4 and RFC 7519 §4.1, as jose's validateClaimsSet checks them; the clock is in whole seconds (RFC 7519 §2). */
function checkAccessClaims(header: Readonly<Record<string, unknown>>, claims: Record<string, unknown>, settings: TokenSettings, nowMs: number): AccessClaims {
  const failed = (message: string, claim: string, reason = 'check_failed') => new errors.JWTClaimValidationFailed(message, claims, claim, reason);
  if (!isAccessTokenType(header.typ)) throw failed('unexpected "typ" JWT header value', 'typ');
  const required = ['iss', ...(settings.audience !== undefined ? ['aud'] : []), 'sub', 'iat', 'exp', 'jti'];
  for (const claim of required) {
    if (!Object.hasOwn(claims, claim)) throw failed(`missing required "${claim}" claim`, claim, 'missing');
  }
  if (claims.iss !== settings.issuer) throw failed('unexpected "iss" claim value', 'iss');
  if (settings.audience !== undefined && !hasAudience(claims.aud, settings.audience)) throw failed('unexpected "aud" claim value', 'aud');
  if (typeof claims.sub !== 'string') throw failed('"sub" claim must be a string', 'sub', 'invalid');
  if (typeof claims.jti !== 'string') throw failed('"jti" claim must be a string', 'jti', 'invalid');
  const { iat, nbf, exp } = claims;
  if (!isNumericDate(iat)) throw failed('"iat" claim must be a number', 'iat', 'invalid');
  if (!isNumericDate(exp)) throw failed('"exp" claim must be a number', 'exp', 'invalid');
  const hasNbf = Object.hasOwn(claims, 'nbf');
  if (hasNbf && !isNumericDate(nbf)) throw failed('"nbf" claim must be a number', 'nbf', 'invalid');
  if (!Number.isFinite(nowMs)) throw new TypeError('Invalid current time');
  const now = Math.floor(nowMs / 1000);
  if (hasNbf && (nbf as number) > now) throw failed('"nbf" claim timestamp check failed', 'nbf');
  if (exp <= now) throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, 'exp', 'check_failed');
  return claims as AccessClaims;
}

/** RFC 7519 §4.1.3: the audience is one string, or an array of them that holds ours. */
function hasAudience(aud: unknown, audience: string): boolean {
  return typeof aud === 'string' ? aud === audience : Array.isArray(aud) && aud.includes(audience);
}

/** RFC 7519 §2: seconds since the epoch; JSON's 1e400 (Infinity) is none. */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
