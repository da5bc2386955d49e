// Bearer access tokens (RFC 6750 §2.1) for /me and the session routes: the header
// read strictly, the JWT verified against roost's own keys, and the session
// it names checked. Failures are 401 invalid_token with WWW-Authenticate.
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { AppError } from '../errors.js';
import { createAccessTokenVerifier, type AccessClaims } from '../keys/access-tokens.js';
import { cacheVerifiedTokens } from '../sessions/verified-tokens.js';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const MAX_AUTHORIZATION_LENGTH = 8192;

export type SessionClaims = AccessClaims & { readonly sid: string };

export interface BearerAuth {
  /** The claims of a valid token whose session is still signed in. */
  authenticate(request: FastifyRequest): Promise<SessionClaims>;
  /** The claims of a valid token, whatever its session's state (signing out twice is fine). */
  verify(request: FastifyRequest): Promise<AccessClaims>;
}

export function createBearerAuth(config: Config, deps: Deps): BearerAuth {
  // The same key set as /me: tokens of a revoked key fail at once, a previous key's still verify.
  const keySet = () => deps.keys.published().jwks;
  // A token presented again skips the signature check until its exp, a key
  // set change or VERIFIED_TOKEN_CACHE_MS (sessions/verified-tokens.ts).
  const verifier = cacheVerifiedTokens(
    createAccessTokenVerifier(keySet, { issuer: config.publicUrl, audience: config.jwtAudience, ttlSeconds: config.accessTokenTtl }),
    { keySet },
  );
  const verify = async (request: FastifyRequest): Promise<AccessClaims> => {
    const header = request.headers.authorization;
    if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) throw invalidToken('A bearer access token is required');
    const match = BEARER.exec(header);
    if (!match) throw invalidToken('The Authorization header must be "Bearer <access token>"');
    let claims: AccessClaims;
    try {
      claims = await verifier(match[1] as string, deps.now());
    } catch {
      throw invalidToken('The access token is invalid or expired');
    }
    // Whatever JWT_AUDIENCE says: a registered client's token is for /userinfo, never for the user's own routes.
    if (claims.client_id !== undefined) throw invalidToken('This access token was issued to an OpenID Connect client: it is good at /userinfo only');
    return claims;
  };
  return {
    verify,
    async authenticate(request) {
      const claims = await verify(request);
      if (!(await deps.sessionCheck.isActive(claims.sid))) throw invalidToken('The session of this access token has ended');
      return claims as SessionClaims;
    },
  };
}

/** RFC 6750 §3: a 401 names the scheme and the error in WWW-Authenticate. */
export function invalidToken(description: string): AppError {
  return new AppError('invalid_token', description, {
    headers: { 'www-authenticate': `Bearer realm="roost", error="invalid_token", error_description="${description.replace(/"/g, "'")}"` },
  });
}
