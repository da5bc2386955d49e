// POST /logout: ends the session of a refresh token or of a bearer access
// token. Like RFC 7009 §2.2, an unknown or spent refresh token is no error:
// the answer never tells whether a token was valid.
import formBody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { parseLogoutRequest, type LogoutRequestBody } from '../../sessions/logout-params.js';
import { bodySchema, loadOpenApi } from '../../contract/openapi.js';
import { compileRequestSchema, describeBodyError } from '../request-schemas.js';
import { hashRefreshToken, isWellFormedRefreshToken, refreshFamily } from '../../sessions/refresh-tokens.js';
import { checkReturnTo } from '../../sign-in/return-to.js';
import { findSessionByRefreshFamily, findSessionByRefreshHash, revokeSession } from '../../sessions/queries.js';
import { omitEmptyParameters } from '../../sessions/token-params.js';
import { createBearerAuth } from '../bearer.js';
import { answerBrowsersWithPages, registeredApps } from '../problem-page.js';

const LOGOUT_BODY_LIMIT = 4096;

export const logoutRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  await app.register(formBody, { bodyLimit: LOGOUT_BODY_LIMIT });
  // A form posted by a browser (with return_to) gets a page for an error, never raw JSON.
  answerBrowsersWithPages(app, registeredApps(config));
  const bearer = createBearerAuth(config, deps);

  const route = {
    bodyLimit: LOGOUT_BODY_LIMIT,
    // The body is checked against LogoutRequest in openapi.yaml, and nowhere else.
    schema: { body: bodySchema(loadOpenApi(), '/logout', 'post') },
    validatorCompiler: compileRequestSchema,
    schemaErrorFormatter: (errors: FastifySchemaValidationError[]) => new AppError('invalid_request', describeBodyError(errors)),
    // The body is optional: none means no parameters. Empty ones count as absent, as at /token.
    preValidation: async (request: FastifyRequest) => {
      request.body = omitEmptyParameters(request.body ?? {});
    },
  };
  app.post<{ Body: LogoutRequestBody }>('/logout', route, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const hasBearer = request.headers.authorization !== undefined;
    const params = parseLogoutRequest(request.body, hasBearer);
    if (!params.ok) throw new AppError('invalid_request', params.reason);
    let target: string | undefined;
    if (params.returnTo !== undefined) {
      const checked = checkReturnTo(params.returnTo, config.returnToUrls);
      if (!checked.ok) throw new AppError('return_to_not_allowed', checked.reason);
      target = checked.url;
    }

    // Each session ended, with its user for the audit log.
    const ended = new Map<string, string>();
    if (hasBearer) {
      const { sid, sub } = await bearer.verify(request);
      if (typeof sid === 'string') ended.set(sid, sub);
    }
    if (params.refreshToken !== undefined && isWellFormedRefreshToken(params.refreshToken)) {
      // A token older than the spent ones still kept names its session by its family.
      const found =
        (await findSessionByRefreshHash(deps.db, hashRefreshToken(params.refreshToken))) ??
        (await findSessionByRefreshFamily(deps.db, refreshFamily(params.refreshToken)));
      if (found) ended.set(found.row.id, found.row.user_id);
    }
    const userAgent = request.headers['user-agent'] ?? null;
    for (const [sid, userId] of ended) {
      const endedNow = await revokeSession(deps.db, sid, 'logout', deps.now());
      deps.sessionCheck.forget(sid);
      // A logout sent again ends nothing more, and records nothing more.
      if (endedNow) await deps.audit.record(deps.db, { type: 'session.ended', userId, sessionId: sid, ip: request.ip, userAgent, detail: { reason: 'logout' } });
    }
    // 303: the browser follows with a GET, whatever method brought it here.
    return target !== undefined ? reply.redirect(target, 303) : reply.code(204).send();
  });
};
