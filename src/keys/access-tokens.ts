// Access tokens: JWTs per RFC 9068, signed with the current key. Claim
// building is pure; signing and verifying are thin calls into jose.
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
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
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE }).sign(key.privateKey);
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
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE }).sign(key.privateKey);
}

export type AccessTokenVerifier = (token: string, nowMs: number) => Promise<AccessClaims>;

type KeySet = { readonly keys: readonly PublicJwk[] };

/**
 * Verifies against the published keys only, with the algorithm pinned to
 * the ones those keys declare (RFC 8725 §3.1). Given a function, it follows
 * the key set it returns, rebuilding only when the set changes.
 */
export function createAccessTokenVerifier(jwks: KeySet | (() => KeySet), settings: TokenSettings): AccessTokenVerifier {
  const current = typeof jwks === 'function' ? jwks : () => jwks;
  let built: { from: KeySet; keySet: ReturnType<typeof createLocalJWKSet>; algorithms: string[] } | undefined;
  return async (token, nowMs) => {
    const set = current();
    if (built?.from !== set) {
      built = {
        from: set,
        keySet: createLocalJWKSet({ keys: set.keys.map((key) => ({ ...key })) }),
        algorithms: [...new Set(set.keys.map((key) => key.alg))],
      };
    }
    const { payload } = await jwtVerify(token, built.keySet, {
      algorithms: built.algorithms,
      issuer: settings.issuer,
      ...(settings.audience !== undefined ? { audience: settings.audience } : {}),
      typ: ACCESS_TOKEN_TYPE,
      currentDate: new Date(nowMs),
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    });
    return payload as AccessClaims;
  };
}
