// GET and POST /authorize: the OpenID Connect provider's authorization
// endpoint (OIDC Core §3.1.2). A browser session at roost answers at once
// (single sign-on); otherwise the person signs in at X through the same
// flow as /login, and comes back to the client with a code.
import formBody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { answerBrowsersWithPages, registeredApps } from '../problem-page.js';
import { rateLimited, type RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { flowCookie } from '../../sign-in/flow-cookie.js';
import { startSignIn, type SignInDeps } from '../../sign-in/flow.js';
import { issueCode } from '../../sign-in/auth-codes.js';
import { checkAuthorizationRequest, type AuthorizationRequest } from '../../oidc/authorize-request.js';
import { codeResponseUrl, errorResponseUrl } from '../../oidc/authorization-response.js';
import { browserCookie, findBrowserSession, type BrowserSession } from '../../oidc/browser-sessions.js';
import type { RawParams } from '../../oidc/request-params.js';
import { clientInfo } from '../client-info.js';
import { publicHostRedirector } from '../public-host.js';

/** An authorization request is a handful of short parameters. */
const AUTHORIZE_BODY_LIMIT = 8192;

export const oidcAuthorizeRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const oidc = config.oidc;
  if (oidc === undefined) return;
  // §3.1.2.1: POST sends the same parameters form-encoded.
  await app.register(formBody, { bodyLimit: AUTHORIZE_BODY_LIMIT });
  answerBrowsersWithPages(app, registeredApps(config));
  const signIn: SignInDeps = { ...deps, config };
  const { metrics } = deps;
  const flow = flowCookie(config.publicUrl);
  const sso = browserCookie(config.publicUrl);
  const issuer = config.publicUrl;
  const toPublicHost = publicHostRedirector(config.publicUrl);

  /** A usable browser session for this request: not for prompt=login, and only as recent as max_age allows. */
  const reusable = async (request: FastifyRequest, asked: AuthorizationRequest): Promise<BrowserSession | undefined> => {
    if (asked.prompt === 'login') return undefined;
    const nowMs = deps.now();
    const session = await findBrowserSession(deps.db, request.cookies[sso.name], nowMs, config.sessionIdleTtl);
    if (session === undefined) return undefined;
    if (asked.maxAge !== undefined && nowMs - session.authTimeMs > asked.maxAge * 1000) return undefined;
    return session;
  };

  const authorize = async (request: FastifyRequest, reply: FastifyReply, params: RawParams) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const check = checkAuthorizationRequest(params, oidc.clients);
    // §3.1.2.6, RFC 9700 §4.1.3: an unknown client or redirect_uri is never redirected to.
    if (check.kind === 'page-error') throw new AppError('invalid_request', check.reason);
    if (check.kind === 'redirect-error') {
      return reply.redirect(errorResponseUrl(check.redirectUri, { error: check.error, description: check.description, state: check.state, issuer }), 302);
    }
    const asked = check.request;
    const scope = asked.scopes.join(' ');
    const session = await reusable(request, asked);
    if (session !== undefined) {
      const code = await issueCode(
        deps.store,
        {
          userId: session.userId,
          challenge: asked.codeChallenge ?? null,
          redirectUri: asked.redirectUri,
          ...(session.claims ? { claims: session.claims } : {}),
          oidc: { clientId: asked.client.clientId, scope, ...(asked.nonce !== undefined ? { nonce: asked.nonce } : {}), authTimeMs: session.authTimeMs, browserSessionId: session.id },
        },
        deps.now(),
      );
      metrics.signInsCompleted.inc();
      const client = clientInfo(request);
      await deps.audit.record(deps.db, {
        type: 'sign_in.completed',
        userId: session.userId,
        sessionId: session.id,
        ip: client.ip,
        userAgent: client.userAgent,
        detail: { mode: 'oidc', client_id: asked.client.clientId, single_sign_on: true },
      });
      return reply.redirect(codeResponseUrl(asked.redirectUri, { code, state: asked.state, issuer }), 302);
    }
    // §3.1.2.6: nothing can be reused and the client said not to ask.
    if (asked.prompt === 'none') {
      return reply.redirect(
        errorResponseUrl(asked.redirectUri, { error: 'login_required', description: 'The person is not signed in at roost, or not recently enough: send them without prompt=none', state: asked.state, issuer }),
        302,
      );
    }
    const started = await startSignIn(signIn, asked.redirectUri, {}, {
      clientId: asked.client.clientId,
      scope,
      ...(asked.state !== undefined ? { state: asked.state } : {}),
      ...(asked.nonce !== undefined ? { nonce: asked.nonce } : {}),
      ...(asked.codeChallenge !== undefined ? { codeChallenge: asked.codeChallenge } : {}),
    });
    metrics.signInsStarted.inc();
    return reply.setCookie(flow.name, started.binding, { ...flow.options, maxAge: config.flowTtl }).redirect(started.location, 302);
  };

  const route = {
    // No HEAD twin: a link checker's HEAD would start a sign-in.
    exposeHeadRoute: false,
    bodyLimit: AUTHORIZE_BODY_LIMIT,
    config: rateLimited(config.loginRateLimit, config.loginRateLimitWindow),
    // X sends the browser back to PUBLIC_URL: the flow cookie must be set there.
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.method !== 'GET') return;
      const location = toPublicHost(request);
      if (location !== undefined) return reply.header('cache-control', 'no-store').redirect(location, 302);
    },
  };
  app.get<{ Querystring: RawParams }>('/authorize', route, (request, reply) => authorize(request, reply, request.query));
  app.post<{ Body: RawParams }>('/authorize', route, (request, reply) => {
    if (!isForm(request)) throw new AppError('unsupported_media_type', 'POST /authorize takes its parameters as a form (application/x-www-form-urlencoded)');
    return authorize(request, reply, request.body ?? {});
  });
};

function isForm(request: FastifyRequest): boolean {
  return /^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers['content-type'] ?? '');
}
