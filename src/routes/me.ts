// GET /me: the signed-in user's profile, for a valid bearer access token.
import type { FastifyPluginAsync } from 'fastify';
import { identifyUser, type RouteOptions } from '../app.js';
import { AppError } from '../errors.js';
import { createAccessTokenVerifier } from '../tokens.js';
import { findUser } from '../users.js';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const MAX_AUTHORIZATION_LENGTH = 8192;

export const meRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  // Follows the published key set: a revoked key's tokens fail at once, a previous key's still verify.
  const verify = createAccessTokenVerifier(() => deps.keys.published().jwks, {
    issuer: config.publicUrl,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtl,
  });

  app.get('/me', async (request, reply) => {
    const header = request.headers.authorization;
    if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) throw invalidToken('A bearer access token is required');
    const match = BEARER.exec(header);
    if (!match) throw invalidToken('The Authorization header must be "Bearer <access token>"');
    let subject: string;
    let sid: unknown;
    try {
      ({ sub: subject, sid } = await verify(match[1] as string, deps.now()));
    } catch {
      throw invalidToken('The access token is invalid or expired');
    }
    identifyUser(request, subject);
    if (!(await deps.sessionCheck.isActive(sid))) throw invalidToken('The session of this access token has ended');
    const user = await findUser(deps.db, subject);
    if (!user) throw invalidToken('The user of this token no longer exists');
    return reply.header('cache-control', 'no-store').send(user);
  });
};

/** RFC 6750 §3: a 401 names the scheme and the error in WWW-Authenticate. */
function invalidToken(description: string): AppError {
  return new AppError('invalid_token', description, {
    headers: { 'www-authenticate': `Bearer realm="roost", error="invalid_token", error_description="${description.replace(/"/g, "'")}"` },
  });
}
