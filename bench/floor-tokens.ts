// The floor's access tokens: the claims roost puts in its own (RFC 9068),
// one ES256 signature with node:crypto to issue one, one verification to
// accept one, and the JWKS that publishes the key.
import { generateKeyPairSync, randomBytes, randomUUID, sign, verify } from 'node:crypto';

export interface TokenUser {
  readonly id: string;
  readonly twitter_id: string;
  readonly screen_name: string;
  readonly name: string;
  readonly picture: string | null;
}

export interface FloorTokens {
  /** The JWKS document, serialised once. */
  readonly jwks: string;
  issue(issuer: string, user: TokenUser, sessionId: string, nowMs: number, ttlSeconds: number): string;
  /** The token's subject and session when its signature, issuer and expiry hold; undefined otherwise. */
  verify(issuer: string, jwt: string, nowMs: number): { sub: string; sid: string } | undefined;
}

export function createFloorTokens(): FloorTokens {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomBytes(8).toString('base64url');
  const header = base64url(JSON.stringify({ alg: 'ES256', kid, typ: 'at+jwt' }));
  // JWS (RFC 7515 §3) with ES256 (RFC 7518 §3.4): the signature is r ‖ s, not DER.
  const signing = { key: keys.privateKey, dsaEncoding: 'ieee-p1363' } as const;
  const verifying = { key: keys.publicKey, dsaEncoding: 'ieee-p1363' } as const;
  return {
    jwks: JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] }),
    issue(issuer, user, sessionId, nowMs, ttlSeconds) {
      const iat = Math.floor(nowMs / 1000);
      const claims = {
        iss: issuer,
        sub: user.id,
        iat,
        exp: iat + ttlSeconds,
        jti: randomUUID(),
        sid: sessionId,
        screen_name: user.screen_name,
        name: user.name,
        picture: user.picture,
        twitter_id: user.twitter_id,
      };
      const input = `${header}.${base64url(JSON.stringify(claims))}`;
      return `${input}.${sign('sha256', Buffer.from(input), signing).toString('base64url')}`;
    },
    verify(issuer, jwt, nowMs) {
      const [head, payload, signature] = jwt.split('.');
      if (head === undefined || payload === undefined || signature === undefined) return undefined;
      if (!verify('sha256', Buffer.from(`${head}.${payload}`), verifying, Buffer.from(signature, 'base64url'))) return undefined;
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; sid?: unknown; exp?: unknown; iss?: unknown };
      if (claims.iss !== issuer || typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return undefined;
      return { sub: String(claims.sub), sid: String(claims.sid) };
    },
  };
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
