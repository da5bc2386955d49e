// POST /token: the OAuth 2.0 token endpoint (RFC 6749 §3.2) for the
// refresh_token grant and the authorization_code grant with PKCE, for
// roost's own apps (no client authentication) and for registered OpenID
// Connect clients (client_secret_basic, client_secret_post, or none + PKCE).
import formBody from '@fastify/formbody';
import type { FastifyError, FastifyPluginAsync, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { logProblem, sendOAuthError, toAppError } from '../problems.js';
import { rateLimited, type RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { authorizationCodeGrant, refreshGrant, type GrantDeps } from '../../sessions/grants.js';
import { bodySchema, loadOpenApi } from '../../contract/openapi.js';
import { compileRequestSchema, describeBodyError } from '../request-schemas.js';
import { missingCodeVerifier, omitEmptyParameters, parseTokenRequest, tokenSchemaErrorCode, type TokenRequestBody } from '../../sessions/token-params.js';
import { clientInfo } from '../client-info.js';
import { authenticateClient } from '../../oidc/client-auth.js';
import type { TokenEndpointAuthMethod } from '../../oidc/clients.js';

/** Token requests are a few short parameters. */
export const TOKEN_BODY_LIMIT = 4096;

export const tokenRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  // §3.2: the endpoint takes form-encoded bodies; JSON is accepted too, for fetch() without URLSearchParams.
  await app.register(formBody, { bodyLimit: TOKEN_BODY_LIMIT });
  const grants: GrantDeps = {
    ...deps,
    config,
    onReuse: async (sessionId, reuse) => {
      app.log.warn({ sessionId, reuse }, 'refresh token or code reuse: session ended');
      // Both parties that held the token lose the session (RFC 9700 §4.14.2): the audit log says why.
      const session = await deps.db.selectFrom('sessions').select('user_id').where('id', '=', sessionId).executeTakeFirst().catch(() => undefined);
      const userId = session?.user_id ?? null;
      await deps.audit.record(deps.db, { type: 'refresh_token.reuse_detected', userId, sessionId, detail: { reuse } });
      await deps.audit.record(deps.db, { type: 'session.ended', userId, sessionId, detail: { reason: 'revocation', cause: 'reuse' } });
    },
    onExpired: (sessionId, userId, why) => deps.audit.record(deps.db, { type: 'session.ended', userId, sessionId, detail: { reason: 'expiry', limit: why } }).then(() => undefined),
    onRepeat: (sessionId, derivation, concurrent) =>
      app.log.info({ sessionId, derivation, concurrent }, 'refresh repeated within the grace window: the same new token again'),
  };

  // §5.1: token responses, errors included, must not be cached.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });

  // §5.2: the errors that carry an OAuth code are application/json; the others (413, 415, 429, 503) stay problems.
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error, request);
    if (appError.members.error === undefined) throw error;
    logProblem(request, appError, error);
    return sendOAuthError(reply, appError);
  });

  const { metrics } = deps;
  const isRefresh = (body: unknown) => (body as { grant_type?: unknown } | undefined)?.grant_type === 'refresh_token';
  app.addHook('onError', async (request, _reply, error) => {
    if (isRefresh(request.body)) metrics.refreshes.inc({ outcome: toAppError(error, request).code });
  });

  // Per client address, counted before the body is read: slows floods of refreshes and code guesses.
  const limited = rateLimited(config.tokenRateLimit, config.tokenRateLimitWindow);

  const route = {
    bodyLimit: TOKEN_BODY_LIMIT,
    config: limited,
    // The body is checked against TokenRequest in openapi.yaml, and nowhere else.
    schema: { body: bodySchema(loadOpenApi(), '/token', 'post') },
    validatorCompiler: compileRequestSchema,
    // A body the schema refuses is answered as an OAuth error (§5.2), by the app's error handler as it is.
    schemaErrorFormatter: (errors: FastifySchemaValidationError[]) => oauthError(tokenSchemaErrorCode(errors), describeBodyError(errors)),
    // §3.1: a parameter without a value is as if omitted, before the schema sees it.
    preValidation: async (request: FastifyRequest) => {
      request.body = omitEmptyParameters(request.body);
    },
  };
  /**
   * The registered client this request authenticates as (RFC 6749 §2.3), or
   * null for roost's own apps, which send no credentials (a client_id that
   * names no registered client is ignored, as before the provider). Wrong
   * credentials are refused before any code or token is looked at.
   */
  const authenticatedClient = (request: FastifyRequest<{ Body: TokenRequestBody }>): { clientId: string; method: TokenEndpointAuthMethod } | null => {
    const clients = config.oidc?.clients;
    if (clients === undefined) return null;
    const { authorization } = request.headers;
    const { client_id: clientId, client_secret: clientSecret } = request.body;
    const attempted = authorization !== undefined || clientSecret !== undefined || (clientId !== undefined && clients.find(clientId) !== undefined);
    if (!attempted) return null;
    const result = authenticateClient({ authorization, clientId, clientSecret }, clients);
    if (result.ok) return { clientId: result.client.clientId, method: result.method };
    if (result.error === 'invalid_request') throw oauthError('invalid_request', result.description);
    // §5.2: a client that tried HTTP Basic gets 401 and the challenge of the scheme it used.
    if (result.basicChallenge) {
      throw new AppError('invalid_client_credentials', result.description, { headers: { 'www-authenticate': 'Basic realm="roost", charset="UTF-8"' }, members: { error: 'invalid_client' } });
    }
    throw new AppError('invalid_client', result.description, { members: { error: 'invalid_client' } });
  };

  app.post<{ Body: TokenRequestBody }>('/token', route, async (request) => {
    const params = parseTokenRequest(request.body);
    if (!params.ok) throw oauthError('invalid_request', params.reason);
    const grant = params.value;
    const client = authenticatedClient(request);
    const clientId = client?.clientId ?? null;
    // Only a confidential client that sent no code_challenge may leave the verifier out: answered before the code is spent.
    if (grant.grantType === 'authorization_code' && grant.codeVerifier === undefined && (client === null || client.method === 'none')) {
      throw oauthError('invalid_request', missingCodeVerifier());
    }
    const tokens = grant.grantType === 'refresh_token' ? await refreshGrant(grants, grant.refreshToken, clientId) : await authorizationCodeGrant(grants, grant, clientInfo(request), clientId);
    metrics.tokensIssued.inc({ grant: grant.grantType });
    if (grant.grantType === 'refresh_token') metrics.refreshes.inc({ outcome: 'ok' });
    return tokens;
  });
};

/** §5.2: the problem carries the OAuth error code in `error`, as OAuth client libraries read it. */
function oauthError(code: 'invalid_request' | 'unsupported_grant_type', detail: string): AppError {
  return new AppError(code, detail, { members: { error: code } });
}
