// The public keys and discovery metadata sibling services verify tokens with.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { ifNoneMatchHits } from '../conditional-get.js';
import type { PublishedKeys } from '../../keys/key-lifecycle.js';
import { discoveryDocument } from '../../oidc/discovery.js';

export const wellKnownRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const cacheControl = `public, max-age=${config.jwksMaxAge}`;
  // Rebuilt only when the published key set changes (it names their algorithms).
  let discovery: { from: PublishedKeys; body: string } | undefined;
  // With registered clients, the OpenID Provider Metadata of the provider (OIDC Discovery §3); it never changes while roost runs.
  const providerMetadata = config.oidc && JSON.stringify(discoveryDocument(config.publicUrl, { idTokenAlgs: config.oidc.idTokenAlgs }));
  const discoveryBody = (keys: PublishedKeys): string => {
    if (providerMetadata !== undefined) return providerMetadata;
    if (discovery?.from !== keys) {
      discovery = {
        from: keys,
        body: JSON.stringify({
          issuer: config.publicUrl,
          jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
          authorization_endpoint: `${config.publicUrl}/login`,
          token_endpoint: `${config.publicUrl}/token`,
          response_types_supported: ['token', 'code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: keys.algorithms,
          token_endpoint_auth_methods_supported: ['none'],
          claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'sid', 'screen_name', 'name', 'picture', 'twitter_id'],
        }),
      };
    }
    return discovery.body;
  };

  // The hot path: the body and ETag were computed when the key set last changed.
  app.get('/.well-known/jwks.json', async (request, reply) => {
    const keys = deps.keys.published();
    reply.header('cache-control', cacheControl).header('etag', keys.etag);
    if (ifNoneMatchHits(request.headers['if-none-match'], keys.etag)) return reply.code(304).send();
    return reply.type('application/json').send(keys.body);
  });
  app.get('/.well-known/openid-configuration', async (_request, reply) =>
    reply.header('cache-control', cacheControl).type('application/json').send(discoveryBody(deps.keys.published())),
  );
};
