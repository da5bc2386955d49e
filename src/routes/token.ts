// POST /token: the OAuth 2.0 token endpoint (RFC 6749 §3.2) for the
// refresh_token grant and the authorization_code grant with PKCE.
import formBody from '@fastify/formbody';
import type { FastifyContextConfig, FastifyPluginAsync } from 'fastify';
import { toAppError, type RouteOptions } from '../app.js';
import { AppError } from '../errors.js';
import { authorizationCodeGrant, refreshGrant, type GrantDeps } from '../grants.js';
import { parseTokenRequest } from '../token-params.js';
import { clientInfo } from './client-info.js';

/** Token requests are a few short parameters. */
export const TOKEN_BODY_LIMIT = 4096;

export const tokenRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  // §3.2: the endpoint takes form-encoded bodies; JSON is accepted too, for fetch() without URLSearchParams.
  await app.register(formBody, { bodyLimit: TOKEN_BODY_LIMIT });
  const grants: GrantDeps = {
    ...deps,
    config,
    onReuse: (sessionId) => app.log.warn({ sessionId }, 'refresh token or code reuse: session ended'),
  };

  // §5.1: token responses, errors included, must not be cached.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });

  const { metrics } = deps;
  const isRefresh = (body: unknown) => (body as { grant_type?: unknown } | undefined)?.grant_type === 'refresh_token';
  app.addHook('onError', async (request, _reply, error) => {
    if (isRefresh(request.body)) metrics.refreshes.inc({ outcome: toAppError(error, request).code });
  });

  // Per client address, counted before the body is read: slows floods of refreshes and code guesses.
  const limited: FastifyContextConfig = config.tokenRateLimit > 0 ? { rateLimit: { max: config.tokenRateLimit, timeWindow: config.tokenRateLimitWindow * 1000 } } : {};

  app.post('/token', { bodyLimit: TOKEN_BODY_LIMIT, config: limited }, async (request) => {
    const params = parseTokenRequest(request.body);
    if (!params.ok) throw new AppError(params.error, params.reason, { members: { error: params.error } });
    const grant = params.value;
    const tokens = grant.grantType === 'refresh_token' ? await refreshGrant(grants, grant.refreshToken) : await authorizationCodeGrant(grants, grant, clientInfo(request));
    metrics.tokensIssued.inc({ grant: grant.grantType });
    if (grant.grantType === 'refresh_token') metrics.refreshes.inc({ outcome: 'ok' });
    return tokens;
  });
};
