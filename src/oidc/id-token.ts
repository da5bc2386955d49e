// The claims of an ID token (OIDC Core §2, §3.1.3.6) and of the UserInfo
// answer (§5.3.2), by scope (§5.4). Building them is pure; signing is the
// caller's, with a key of the client's id_token_signed_response_alg.
import { createHash } from 'node:crypto';
import type { User } from '../users/profiles.js';
import type { IdTokenAlg } from './clients.js';
import type { OidcScope } from './scopes.js';

/** What the claims are made of: a profile as X gave it, keyed by roost's user id. */
export type OidcUser = Pick<User, 'id' | 'screen_name' | 'name' | 'picture' | 'email'>;

export interface IdTokenInput {
  readonly issuer: string;
  readonly user: OidcUser;
  readonly clientId: string;
  /** The authorization request's nonce, sent back unchanged (§3.1.3.7 step 11). */
  readonly nonce?: string | undefined;
  /** When the person signed in at X, in milliseconds. */
  readonly authTimeMs: number;
  /** The session the grant opened; RP-Initiated Logout's id_token_hint names it back. */
  readonly sid: string;
  /** The access token issued beside the ID token, when there is one: at_hash binds the two. */
  readonly accessToken?: string | undefined;
  readonly alg: IdTokenAlg;
  readonly scopes: readonly OidcScope[];
  readonly nowMs: number;
  readonly ttlSeconds: number;
}

export interface ProfileClaims {
  name?: string;
  preferred_username?: string;
  picture?: string;
  profile?: string;
  email?: string;
  email_verified?: true;
}

export interface IdTokenClaims extends ProfileClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  auth_time: number;
  nonce?: string;
  sid: string;
  at_hash?: string;
}

export interface UserInfoClaims extends ProfileClaims {
  sub: string;
}

/** Every claim an ID token or a UserInfo answer can carry, for discovery's claims_supported. */
export const OIDC_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'sid',
  'at_hash',
  'name',
  'preferred_username',
  'picture',
  'profile',
  'email',
  'email_verified',
] as const;

export function buildIdTokenClaims(input: IdTokenInput): IdTokenClaims {
  const iat = Math.floor(input.nowMs / 1000);
  return {
    iss: input.issuer,
    sub: input.user.id,
    // One audience, the client, as a string: no azp is then needed (§2).
    aud: input.clientId,
    exp: iat + input.ttlSeconds,
    iat,
    auth_time: Math.floor(input.authTimeMs / 1000),
    ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
    sid: input.sid,
    ...(input.accessToken !== undefined ? { at_hash: atHash(input.accessToken, input.alg) } : {}),
    ...profileClaims(input.user, input.scopes),
  };
}

/** §5.3.2: sub always, the rest by scope. */
export function userinfoClaims(user: OidcUser, scopes: readonly OidcScope[]): UserInfoClaims {
  return { sub: user.id, ...profileClaims(user, scopes) };
}

/**
 * `profile`: the X display name, the handle as preferred_username (it can
 * change; sub does not), the avatar and the X profile page. `email`: only
 * an address X confirmed, so it is verified whenever it is there. A claim
 * without a value is left out, never null (§5.3.2).
 */
function profileClaims(user: OidcUser, scopes: readonly OidcScope[]): ProfileClaims {
  return {
    ...(scopes.includes('profile')
      ? {
          name: user.name,
          preferred_username: user.screen_name,
          ...(user.picture !== null ? { picture: user.picture } : {}),
          profile: `https://x.com/${encodeURIComponent(user.screen_name)}`,
        }
      : {}),
    ...(scopes.includes('email') && user.email !== null ? { email: user.email, email_verified: true as const } : {}),
  };
}

/**
 * §3.1.3.6: the base64url left half of the hash of the access token's ASCII
 * octets, with the hash of the ID token's alg: SHA-256 for RS256 and ES256.
 * EdDSA names no hash and no published text says which; with Ed25519, the
 * only curve roost signs with, it is SHA-512 (the hash inside Ed25519, RFC
 * 8032 §5.1), the OpenID Connect working group's consensus
 * (bitbucket.org/openid/connect/issues/1125), and what openid-client checks
 * (through oidc-token-hash in 5.x; oauth4webapi, behind 6.x, computes the
 * same) and node-oidc-provider issues: 32 bytes, 43 characters.
 */
export function atHash(accessToken: string, alg: IdTokenAlg): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken, 'ascii')
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
