// buildApp assembles the HTTP service from a config and its dependencies.
// The one error handler turns everything into RFC 9457 problem details.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyContextConfig, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Deps } from './deps.js';
import { AppError, serializeProblem, type ErrorCode } from './errors.js';
import { pathOf } from './logger.js';
import { recordHttp } from './metrics.js';
import { accountRoutes } from './routes/account.js';
import { corsOptions, notFoundCorsHeaders } from './routes/cors.js';
import { isAllowedRedirect } from './redirect-guard.js';
import { securityHeaders } from './security-headers.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { homeRoutes } from './routes/home.js';
import { loginRoutes } from './routes/login.js';
import { logoutRoutes } from './routes/logout.js';
import { meRoutes } from './routes/me.js';
import { sessionRoutes } from './routes/sessions.js';
import { tokenRoutes } from './routes/token.js';
import { metricsRoutes } from './routes/metrics.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { createDefaultSandboxUsers } from './sandbox/users.js';
import { sandboxProvider } from './sandbox/provider.js';
import { SANDBOX_PATH } from './config.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The problem code for a request that fails the route's schema (default invalid_request). */
    invalidCode?: ErrorCode;
  }
}

export interface RouteOptions {
  readonly config: Config;
  readonly deps: Deps;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
  // Security headers (see security-headers.ts), then the request id: on
  // every answer, from the first hook or, for what the router refuses
  // before any hook runs, from frameworkErrors.
  const security = securityHeaders(config.publicUrl);
  const stampHeaders = (request: FastifyRequest, reply: FastifyReply) => reply.headers(security).header('x-request-id', request.id);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request, written below with only safe fields.
    logController: new LogController({ disableRequestLogging: true }),
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
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide) });
    }
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
    reply.status(error.status).header('cache-control', 'no-store').type('application/problem+json; charset=utf-8');
    done(null, serializeProblem(error));
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    request.log.info(
      { method: request.method, route, path: pathOf(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
    recordHttp(deps.metrics, request.method, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error, request);
    if (appError.status >= 500) request.log.error({ err: error, code: appError.code }, 'request failed');
    else request.log.info({ code: appError.code }, 'request refused');
    return sendProblem(reply, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply.headers(notFoundCorsHeaders(config, request.headers.origin, request.url)),
      new AppError('not_found', `No route for ${request.method} ${pathOf(request.url)}`),
    ),
  );

  await app.register(cookie, { secret: deps.cookieSecret });
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
  await app.register(healthRoutes, options);
  await app.register(docsRoutes, options);
  await app.register(homeRoutes, options);
  await app.register(wellKnownRoutes, options);
  await app.register(loginRoutes, options);
  // The routes a browser app calls with fetch(), in a context of their own:
  // only they (and preflights) run the CORS hook (see routes/cors.ts).
  await app.register(async (api) => {
    await api.register(cors, corsOptions(config));
    await api.register(meRoutes, options);
    await api.register(tokenRoutes, options);
    await api.register(logoutRoutes, options);
    await api.register(sessionRoutes, options);
    await api.register(accountRoutes, options);
  });
  await app.register(metricsRoutes, options);
  if (config.sandbox) {
    logger.warn({ url: config.twitter.apiUrl }, 'SANDBOX TWITTER PROVIDER IS ON: sign-ins use fake sandbox users, not Twitter');
    await app.register(sandboxProvider, {
      prefix: SANDBOX_PATH,
      consumerKey: config.twitter.consumerKey,
      consumerSecret: config.twitter.consumerSecret,
      users: createDefaultSandboxUsers(),
      baseUrl: config.twitter.apiUrl,
      // As Twitter does: only the registered callback, so the sandbox is no open redirect.
      allowedCallbacks: [config.callbackUrl],
      now: deps.now,
    });
  }
  return app;
}

/** A route's rate limit (the plugin is registered above): `max` requests per client address per window, none when `max` is 0. */
export function rateLimited(max: number, windowSeconds: number): FastifyContextConfig {
  return max > 0 ? { rateLimit: { max, timeWindow: windowSeconds * 1000 } } : {};
}

/** The problem an error is answered with (and counted under). */
export function toAppError(error: FastifyError | AppError, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) return new AppError(request.routeOptions.config.invalidCode ?? 'invalid_request', error.message);
  return fromFastifyError(error);
}

/** Names the signed-in user on this request's later log lines, its closing request line included. */
export function identifyUser(request: FastifyRequest, userId: string): void {
  request.log = request.log.child({ userId });
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  return reply
    .status(error.status)
    .headers(error.headers)
    .header('cache-control', 'no-store')
    .type('application/problem+json; charset=utf-8')
    .send(serializeProblem(error));
}

/**
 * Requests Node's HTTP parser refuses (malformed, headers too large, too
 * slow) never reach a route; they still get a problem+json answer. Nothing
 * is logged: the error carries the raw bytes, cookies and all.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('headers_too_large', 'The request line and headers must stay under 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('request_timeout', 'The request did not arrive in time')
        : new AppError('invalid_request', 'The request is not valid HTTP');
  const body = serializeProblem(appError);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** A hop count, as proxy-addr reads one: trust the nearest `count` proxies. */
function trustHops(count: number) {
  return (_address: string, hop: number) => hop < count;
}

function fromFastifyError(error: FastifyError): AppError {
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('payload_too_large', 'The request body is too large');
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('unsupported_media_type', 'This content type is not accepted here');
  if (status === 404) return new AppError('not_found', 'Not found');
  if (status >= 400 && status < 500) return new AppError('invalid_request', 'The request is malformed');
  // Nothing of the original error reaches the client.
  return new AppError('internal_error', 'Something went wrong on our side', { cause: error });
}
