// GET /login and GET /login/callback: the browser's side of the flow.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { AppError } from '../errors.js';
import { parseCallbackParams, parseReturnToParam, type Query } from '../login-params.js';
import { checkReturnTo } from '../return-to.js';
import { finishSignIn, startSignIn, type SignInDeps } from '../sign-in.js';

export const FLOW_COOKIE = 'roost_flow';

export const loginRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const signIn: SignInDeps = { ...deps, config };
  const cookieOptions = {
    path: '/login',
    httpOnly: true,
    // Lax, not Strict: the browser must send it on the top-level redirect back from Twitter.
    sameSite: 'lax' as const,
    secure: config.publicUrl.startsWith('https:'),
    signed: true,
  };

  app.get('/login', async (request, reply) => {
    const param = parseReturnToParam(request.query as Query);
    if (!param.ok) throw new AppError('invalid_request', param.reason);
    const target = checkReturnTo(param.value, config.returnToOrigins);
    if (!target.ok) throw new AppError('return_to_not_allowed', target.reason);
    const started = await startSignIn(signIn, target.url);
    return reply
      .setCookie(FLOW_COOKIE, started.binding, { ...cookieOptions, maxAge: config.flowTtl })
      .header('cache-control', 'no-store')
      .redirect(started.location, 302);
  });

  app.get('/login/callback', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const params = parseCallbackParams(request.query as Query);
    if (!params.ok) throw new AppError('invalid_callback', params.reason);
    const raw = request.cookies[FLOW_COOKIE];
    const cookie = raw === undefined ? undefined : request.unsignCookie(raw);
    reply.clearCookie(FLOW_COOKIE, cookieOptions);
    const location = await finishSignIn(signIn, params.value, cookie?.valid ? (cookie.value ?? undefined) : undefined);
    return reply.redirect(location, 302);
  });
};
