// GET /login and GET /login/callback: the browser's side of the flow.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { logProblem, toAppError } from '../problems.js';
import { answerBrowsersWithPages, registeredApps } from '../problem-page.js';
import { rateLimited, type RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { flowCookie } from '../../sign-in/flow-cookie.js';
import { loadOpenApi, querystringSchema } from '../../contract/openapi.js';
import { compileRequestSchema, describeQueryError } from '../request-schemas.js';
import { callbackProtocol, parseCallbackParams, parseLoginRequest, type CallbackQuery, type LoginQuery } from '../../sign-in/login-params.js';
import { checkReturnTo, hasCodeResponseParams } from '../../sign-in/return-to.js';
import { finishSignIn, startSignIn, type SignInDeps } from '../../sign-in/flow.js';
import { clientInfo } from '../client-info.js';
import { publicHostRedirector } from '../public-host.js';
import { browserCookie, findBrowserSession, replaceBrowserSession } from '../../oidc/browser-sessions.js';

export const loginRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const signIn: SignInDeps = { ...deps, config };
  const { metrics } = deps;
  const step = (request: FastifyRequest) => (request.routeOptions.url === '/login' ? 'start' : 'finish');
  // Scoped to this plugin: counts failures of the two sign-in routes only.
  app.addHook('onError', async (request, _reply, error) => {
    metrics.signInsFailed.inc({ step: step(request), reason: toAppError(error, request).code });
  });
  // A person's browser gets a page; an API client, the problem+json of the app's own handler.
  answerBrowsersWithPages(app, registeredApps(config));
  const { name: cookieName, options: cookieOptions } = flowCookie(config.publicUrl);
  const sso = browserCookie(config.publicUrl);

  const toPublicHost = publicHostRedirector(config.publicUrl);
  const spec = loadOpenApi();
  // Per client address, each route its own counter: slows flooding and guessing at the callback.
  const limited = rateLimited(config.loginRateLimit, config.loginRateLimitWindow);

  // The query strings are checked against their parameters in openapi.yaml, and nowhere else,
  // as the bodies of /token and /logout are: nothing coerced, a repeated parameter refused.
  // A failure is the route's `invalidCode` (app.ts), with the detail in words.
  const validation = {
    validatorCompiler: compileRequestSchema,
    schemaErrorFormatter: (errors: FastifySchemaValidationError[]) => new Error(describeQueryError(errors)),
  };

  // No HEAD twins: a link checker's HEAD would start a sign-in, or spend one at the callback.
  const loginRoute = {
    exposeHeadRoute: false,
    schema: { querystring: querystringSchema(spec, '/login', 'get') },
    ...validation,
    config: limited,
    // Twitter sends the browser back to PUBLIC_URL: the flow cookie must be set there, not on another name of this host.
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      const location = toPublicHost(request);
      if (location !== undefined) return reply.header('cache-control', 'no-store').redirect(location, 302);
    },
  };
  app.get<{ Querystring: LoginQuery }>('/login', loginRoute, async (request, reply) => {
    const target = checkReturnTo(request.query.return_to, config.returnToUrls);
    if (!target.ok) throw new AppError('return_to_not_allowed', target.reason);
    const login = parseLoginRequest(request.query);
    if (!login.ok) throw new AppError('invalid_request', login.reason);
    if (login.value.codeRequest && hasCodeResponseParams(target.url)) {
      throw new AppError('invalid_request', 'return_to must not already carry code, state or error parameters: roost adds them');
    }
    const started = await startSignIn(signIn, target.url, login.value);
    metrics.signInsStarted.inc();
    return reply
      .setCookie(cookieName, started.binding, { ...cookieOptions, maxAge: config.flowTtl })
      .header('cache-control', 'no-store')
      // The Location carries the request token (RFC 9700 §4.2).
      .header('referrer-policy', 'no-referrer')
      .redirect(started.location, 302);
  });

  const callbackRoute = {
    exposeHeadRoute: false,
    schema: { querystring: querystringSchema(spec, '/login/callback', 'get') },
    ...validation,
    config: { invalidCode: 'invalid_callback' as const, ...limited },
    // The callback's answer must not be cached or leak through Referer, errors included.
    onRequest: async (_request: unknown, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      reply.header('referrer-policy', 'no-referrer');
    },
  };
  app.get<{ Querystring: CallbackQuery }>('/login/callback', callbackRoute, async (request, reply) => {
    const params = parseCallbackParams(request.query);
    if (!params.ok) throw new AppError('invalid_callback', params.reason);
    const raw = request.cookies[cookieName];
    const cookie = raw === undefined ? undefined : request.unsignCookie(raw);
    const client = clientInfo(request);
    let failedOpen = false;
    const hookFailedOpen = (problem: string) => {
      failedOpen = true;
      metrics.signInHook.inc({ outcome: 'failed_open' });
      request.log.warn({ problem }, 'the sign-in hook failed; SIGN_IN_HOOK_FAIL_OPEN let the sign-in through');
    };
    const binding = cookie?.valid ? (cookie.value ?? undefined) : undefined;
    let outcome;
    try {
      outcome = await finishSignIn(signIn, { ...params.value, protocol: callbackProtocol(request.query) }, binding, client, hookFailedOpen);
    } catch (error) {
      // The flow store could not be read: the flow is still there, and the cookie stays with it, so the same callback works once the store is back.
      if (!(error instanceof AppError && error.status === 503)) reply.clearCookie(cookieName, cookieOptions);
      throw error;
    }
    reply.clearCookie(cookieName, cookieOptions);
    const seen = { ip: client.ip, userAgent: client.userAgent };
    switch (outcome.kind) {
      case 'denied':
        metrics.signInsDenied.inc({ reason: outcome.reason });
        if (outcome.reason === 'hook_refused') metrics.signInHook.inc({ outcome: 'refused' });
        await deps.audit.record(deps.db, { type: 'sign_in.denied', userId: outcome.userId ?? null, ...seen, detail: { reason: outcome.reason } });
        break;
      case 'failed':
        // Back at the app with an OAuth error; counted and logged as a refused request would be.
        metrics.signInsFailed.inc({ step: 'finish', reason: outcome.error.code });
        if (outcome.error.code === 'sign_in_hook_failed') metrics.signInHook.inc({ outcome: 'failed_closed' });
        logProblem(request, outcome.error, outcome.cause);
        // X's rate limit is the operator's to know about, with when it lifts (the detail names no token).
        if (outcome.error.code === 'rate_limited') request.log.warn({ code: outcome.error.code, detail: outcome.error.detail }, 'X rate-limited the sign-in');
        await deps.audit.record(deps.db, { type: 'sign_in.failed', ...seen, detail: { reason: outcome.error.code } });
        break;
      case 'signed-in':
        metrics.signInsCompleted.inc();
        if (deps.signInHook && !failedOpen) metrics.signInHook.inc({ outcome: 'allowed' });
        // Fragment mode hands the tokens out here; code mode at POST /token.
        if (outcome.tokensIssued) metrics.tokensIssued.inc({ grant: 'sign_in' });
        // Through /authorize: the browser keeps its session at roost (SSO); it replaces one the browser had.
        if (outcome.browserSession) {
          // The browser session it had (prompt=login, max_age) ends: its sessions move to the new one, or end with it if it was another person's.
          const previous = await findBrowserSession(deps.db, request.cookies[sso.name], deps.now(), config.sessionIdleTtl).catch(() => undefined);
          if (previous !== undefined) {
            const ended = await replaceBrowserSession(deps.db, previous, { id: outcome.browserSession.id, userId: outcome.userId }, deps.now()).catch(() => []);
            for (const session of ended) deps.sessionCheck.forget(session.id);
          }
          reply.setCookie(sso.name, outcome.browserSession.token, { ...sso.options, expires: outcome.browserSession.expiresAt });
        }
        await deps.audit.record(deps.db, {
          type: 'sign_in.completed',
          userId: outcome.userId,
          sessionId: outcome.sessionId ?? null,
          ...seen,
          detail: {
            protocol: deps.upstream.protocol,
            mode: outcome.clientId !== undefined ? 'oidc' : outcome.tokensIssued ? 'fragment' : 'code',
            ...(outcome.clientId !== undefined ? { client_id: outcome.clientId } : {}),
            new_user: outcome.isNewUser,
            ...(failedOpen ? { hook: 'failed_open' } : {}),
          },
        });
    }
    return reply.redirect(outcome.location, 302);
  });
};
