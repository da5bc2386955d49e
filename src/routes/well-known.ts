// The public keys and discovery metadata sibling services verify tokens with.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { buildJwks } from '../keys.js';

export const wellKnownRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  // Precomputed once: the hot path sends the same bytes every time.
  const jwksBody = JSON.stringify(buildJwks([deps.signingKey()]));
  const discoveryBody = JSON.stringify({
    issuer: config.publicUrl,
    jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
    authorization_endpoint: `${config.publicUrl}/login`,
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [deps.signingKey().alg],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'screen_name', 'name', 'picture', 'twitter_id'],
  });
  const cacheControl = `public, max-age=${config.jwksMaxAge}`;

  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', cacheControl).type('application/json').send(jwksBody),
  );
  app.get('/.well-known/openid-configuration', async (_request, reply) =>
    reply.header('cache-control', cacheControl).type('application/json').send(discoveryBody),
  );
};
