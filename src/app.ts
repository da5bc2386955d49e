// buildApp assembles the HTTP service from a config and its dependencies.
// The one error handler turns everything into RFC 9457 problem details.
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SANDBOX_PATH, type Config } from './config.js';
import type { Deps } from './deps.js';
import { AppError } from './errors.js';
import { corsOptions, notFoundCorsHeaders } from './http/cors.js';
import { answerClientError, logProblem, sendProblem, serializeProblem, toAppError } from './http/problems.js';
import { PROBLEM_PAGE_CSP, problemPage, registeredApps, wantsPage } from './http/problem-page.js';
import type { RouteOptions } from './http/route-options.js';
import { accountRoutes } from './http/routes/account.js';
import { clientRoutes } from './http/routes/client.js';
import { docsRoutes } from './http/routes/docs.js';
import { healthRoutes } from './http/routes/health.js';
import { homeRoutes } from './http/routes/home.js';
import { oidcAuthorizeRoutes } from './http/routes/oidc-authorize.js';
import { oidcEndSessionRoutes } from './http/routes/oidc-end-session.js';
import { oidcUserinfoRoutes } from './http/routes/oidc-userinfo.js';
import { loginRoutes } from './http/routes/login.js';
import { logoutRoutes } from './http/routes/logout.js';
import { meRoutes } from './http/routes/me.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { sessionRoutes } from './http/routes/sessions.js';
import { tokenRoutes } from './http/routes/token.js';
import { wellKnownRoutes } from './http/routes/well-known.js';
import { securityHeaders } from './http/security-headers.js';
import { createOverloadGuard } from './http/overload.js';
import { pathOf, RequestLogger } from './ops/logger.js';
import { recordHttp } from './ops/metrics.js';
import { sandboxProvider } from './sandbox/provider.js';
import { adminRoutes } from './http/routes/admin.js';
import { createDefaultSandboxUsers } from './sandbox/users.js';
import { isAllowedRedirect } from './sign-in/redirect-guard.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The routes that sign tokens. Each first makes sure this replica may sign
 * (see keys/key-ring.ts), so a request refused with 503
 * signing_key_unavailable changes nothing: no sign-in flow taken, no session
 * opened, no refresh token rotated.
 */
const SIGNING_ROUTES: ReadonlySet<string> = new Set(['/login/callback', '/token']);

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  /** Routes a plugin marks as hidden from the API document (the docs page's own assets). */
  readonly hidden: boolean;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route the app serves, as registered (HEAD routes included). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export async function buildApp(config: Config, deps: Deps, logger: Logger): Promise<FastifyInstance> {
  // Security headers (see http/security-headers.ts), then the request id: on
  // every answer, from the first hook or, for what the router refuses
  // before any hook runs, from frameworkErrors.
  const security = securityHeaders(config.publicUrl);
  const apps = registeredApps(config);
  const stampHeaders = (request: FastifyRequest, reply: FastifyReply) => reply.headers(security).header('x-request-id', request.id);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request, written below with only safe fields.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log: a child logger made only when the request logs more than its closing line (ops/logger.ts).
    childLoggerFactory: (parent, bindings) => new RequestLogger(parent as Logger, bindings) as unknown as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 64 * 1024,
    clientErrorHandler: answerClientError,
    // A path parameter the router cannot decode (`/sessions/%ZZ`) or that is
    // too long names nothing that exists.
    frameworkErrors: (error, request, reply) => {
      stampHeaders(request, reply);
      const routerRefused = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      sendProblem(
        reply,
        routerRefused
          ? new AppError('not_found', `No route for ${request.method} ${pathOf(request.url)}`)
          : new AppError('internal_error', 'Something went wrong on our side', { cause: error }),
      );
    },
    // X-Forwarded-For is believed only from the proxies TRUST_PROXY names.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : (config.trustProxy as boolean | string[]),
  });

  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  const requireSigningKey = async () => {
    // Throws signing_key_unavailable (503) while this replica may not sign.
    deps.signingKey();
  };
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide) });
    }
    if (SIGNING_ROUTES.has(route.url)) route.preHandler = [requireSigningKey, ...[route.preHandler ?? []].flat()];
  });

  // The hooks below run on every request, so they are plain callbacks that
  // do no more than they must: the cheapest route (the JWKS) is mostly them.
  app.addHook('onRequest', (request, reply, done) => {
    stampHeaders(request, reply);
    done();
  });
  // While closing, each answer ends its connection: fastify keeps idle
  // keep-alive connections for 72 s, which would hold the shutdown open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    const location = reply.getHeader('location');
    if (typeof location !== 'string' || isAllowedRedirect(location, config)) return done(null, payload);
    request.log.error({ route: request.routeOptions.url, status: reply.statusCode }, 'refused a redirect off the allowed origins');
    reply.removeHeader('location');
    const error = new AppError('internal_error', 'Something went wrong on our side');
    reply.status(error.status).header('cache-control', 'no-store');
    if (wantsPage(request)) {
      reply.type('text/html; charset=utf-8').header('content-security-policy', PROBLEM_PAGE_CSP);
      return done(null, problemPage(error, apps));
    }
    reply.type('application/problem+json; charset=utf-8');
    done(null, serializeProblem(error));
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const line = { method: request.method, route, path: pathOf(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (request.log instanceof RequestLogger) request.log.requestLine(line, 'request');
    else request.log.info(line, 'request');
    recordHttp(deps.metrics, request.method, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error, request);
    logProblem(request, appError, error);
    // A person's browser shed at a page of roost's own (the home page, the
    // documentation) reads a page; the browser routes have their own handlers.
    if (appError.code === 'overloaded' && wantsPage(request)) {
      reply.status(appError.status).headers(appError.headers).header('cache-control', 'no-store');
      reply.type('text/html; charset=utf-8').header('content-security-policy', PROBLEM_PAGE_CSP);
      return reply.send(problemPage(appError, apps, 'Too busy right now'));
    }
    return sendProblem(reply, appError);
  });
  const notFoundCors = notFoundCorsHeaders(config);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply.headers(notFoundCors(request.headers.origin, request.url)),
      new AppError('not_found', `No route for ${request.method} ${pathOf(request.url)}`),
    ),
  );

  // Counters per client address, in Redis when there is one so every replica
  // shares them. Routes opt in (the login routes and /token do). If Redis fails the
  // limit is skipped: the same request then meets the flow store's 503.
  await app.register(rateLimit, {
    global: false,
    ...(deps.redis ? { redis: deps.redis, nameSpace: 'rate-limit:' } : {}),
    skipOnError: true,
    // The plugin's own key, except that a request whose connection is already
    // gone (after a malformed pipelined request, say) has no address at all.
    keyGenerator: (request) => (request.ip === undefined ? 'gone' : normalizeIP(request.ip, 64)),
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `Too many requests from this address; try again in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`),
  });
  const options: RouteOptions = { config, deps };
  // What an orchestrator or a scraper polls answers even under overload.
  await app.register(healthRoutes, options);
  await app.register(metricsRoutes, options);
  // Everything else is shed past OVERLOAD_MAX_EVENT_LOOP_DELAY_MS or
  // OVERLOAD_MAX_IN_FLIGHT (http/overload.ts): 503 overloaded, as a page to
  // a browser on the browser routes (their error handlers decide).
  const overload = createOverloadGuard({ maxEventLoopDelayMs: config.overloadMaxEventLoopDelayMs, maxInFlight: config.overloadMaxInFlight }, (reason) =>
    deps.metrics.requestsShed.inc({ reason }),
  );
  if (overload) {
    app.addHook('onReady', async () => overload.start());
    app.addHook('onClose', async () => overload.close());
  }
  await app.register(async (guarded) => {
    if (overload) guarded.addHook('onRequest', overload.onRequest);
    await guarded.register(docsRoutes, options);
    await guarded.register(homeRoutes, options);
    await guarded.register(clientRoutes, options);
    await guarded.register(wellKnownRoutes, options);
    // The routes that read or set cookies (the flow cookie, the browser
    // session), in a context of their own: only they run the cookie hooks.
    await guarded.register(async (browser) => {
      await browser.register(cookie, { secret: deps.cookieSecret });
      await browser.register(loginRoutes, options);
      // The OpenID Connect provider: nothing registered (so 404) without OIDC_CLIENTS.
      await browser.register(oidcAuthorizeRoutes, options);
      await browser.register(oidcEndSessionRoutes, options);
    });
    // The routes a browser app calls with fetch(), in a context of their own:
    // only they (and preflights) run the CORS hook (see http/cors.ts).
    await guarded.register(async (api) => {
      await api.register(cors, corsOptions(config));
      await api.register(meRoutes, options);
      await api.register(tokenRoutes, options);
      await api.register(oidcUserinfoRoutes, options);
      await api.register(logoutRoutes, options);
      await api.register(sessionRoutes, options);
      await api.register(accountRoutes, options);
    });
    // Off (nothing registered, so 404) without ADMIN_API_KEYS.
    await guarded.register(adminRoutes, options);
  });
  if (config.sandbox) {
    logger.warn({ url: config.twitter.apiUrl }, 'SANDBOX TWITTER PROVIDER IS ON: sign-ins use fake sandbox users, not Twitter');
    await app.register(sandboxProvider, {
      prefix: SANDBOX_PATH,
      consumerKey: config.twitter.consumerKey,
      consumerSecret: config.twitter.consumerSecret,
      clientId: config.twitter.clientId,
      clientSecret: config.twitter.clientSecret,
      users: createDefaultSandboxUsers(),
      baseUrl: config.twitter.apiUrl,
      // As Twitter does: only the registered callback, so the sandbox is no open redirect.
      allowedCallbacks: [config.callbackUrl],
      now: deps.now,
    });
  }
  return app;
}

/** A hop count, as proxy-addr reads one: trust the nearest `count` proxies. */
function trustHops(count: number) {
  return (_address: string, hop: number) => hop < count;
}
