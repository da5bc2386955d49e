// GET and POST /userinfo (OIDC Core §5.3): the claims a registered client's
// access token may read, by its scope. Errors as RFC 6750 §3 says: 401 with
// a Bearer challenge for a missing or bad token, 403 insufficient_scope.
import formBody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { createAccessTokenVerifier } from '../../keys/access-tokens.js';
import { userinfoAudience } from '../../sessions/grants.js';
import { findUser } from '../../users/profiles.js';
import { parseScope } from '../../oidc/scopes.js';
import { userinfoClaims } from '../../oidc/id-token.js';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const MAX_AUTHORIZATION_LENGTH = 8192;
const CHALLENGE = 'Bearer realm="roost"';

export const oidcUserinfoRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  if (config.oidc === undefined) return;
  // §2.2 lets a form carry the token; roost reads only the header, but a form body is no error.
  await app.register(formBody, { bodyLimit: 4096 });
  // Only tokens issued to registered clients: their audience is this endpoint.
  const verifier = createAccessTokenVerifier(() => deps.keys.published().jwks, {
    issuer: config.publicUrl,
    audience: userinfoAudience(config.publicUrl),
    ttlSeconds: config.accessTokenTtl,
  });

  const userinfo = async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    // §3.1: a request without any authentication gets the challenge and no error code.
    if (header === undefined) throw new AppError('invalid_token', 'A bearer access token is required', { headers: { 'www-authenticate': CHALLENGE } });
    const match = header.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(header) : null;
    if (!match) throw bearerError('invalid_request', 'The Authorization header must be "Bearer <access token>"');
    let claims;
    try {
      claims = await verifier(match[1] as string, deps.now());
    } catch {
      throw bearerError('invalid_token', 'The access token is invalid or expired');
    }
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    if (sid === undefined || !(await deps.sessionCheck.isActive(sid))) throw bearerError('invalid_token', 'The session of this access token has ended');
    const scope = typeof claims.scope === 'string' ? parseScope(claims.scope) : undefined;
    if (!scope?.ok) throw bearerError('insufficient_scope', 'The access token was not granted the openid scope');
    const user = await findUser(deps.db, claims.sub);
    if (!user) throw bearerError('invalid_token', 'The user of this access token no longer exists');
    return userinfoClaims(user, scope.scopes);
  };

  const route = {
    onRequest: async (_request: unknown, reply: { header(name: string, value: string): unknown }) => {
      reply.header('cache-control', 'no-store');
    },
  };
  app.get('/userinfo', route, userinfo);
  // §5.3.1: POST too, with the token in the Authorization header (no body is read).
  app.post('/userinfo', route, userinfo);
};

/** RFC 6750 §3: the error code in the challenge and in the problem's `error` member (roost's problem codes are the same words). */
function bearerError(error: 'invalid_request' | 'invalid_token' | 'insufficient_scope', description: string): AppError {
  return new AppError(error, description, {
    headers: { 'www-authenticate': `${CHALLENGE}, error="${error}", error_description="${description.replace(/"/g, "'")}"` },
    members: { error },
  });
}
