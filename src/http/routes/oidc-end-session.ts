// GET and POST /end_session: RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0). With an id_token_hint roost issued, the session
// it names ends, with the browser session it came from and every session
// that browser session opened; the person then goes back to the client's
// registered post_logout_redirect_uri, or sees a signed-out page. Without a
// hint, the person is asked first.
import formBody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { compactVerify, createLocalJWKSet } from 'jose';
import { answerBrowsersWithPages, registeredApps } from '../problem-page.js';
import { rateLimited, type RouteOptions } from '../route-options.js';
import { AppError } from '../../errors.js';
import { checkLogoutRequest, readLogoutParams, type IdTokenHintClaims } from '../../oidc/logout-request.js';
import { browserCookie, browserSessionOf, endBrowserSessions, findBrowserSession, isSessionId } from '../../oidc/browser-sessions.js';
import type { RawParams } from '../../oidc/request-params.js';
import { LOGOUT_PAGE_CSP, confirmLogoutPage, confirmPageCsp, signedOutPage } from '../logout-pages.js';
import { clientInfo } from '../client-info.js';

const END_SESSION_BODY_LIMIT = 16384;

export const oidcEndSessionRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const oidc = config.oidc;
  if (oidc === undefined) return;
  await app.register(formBody, { bodyLimit: END_SESSION_BODY_LIMIT });
  answerBrowsersWithPages(app, registeredApps(config), 'Sign-out did not finish');
  const sso = browserCookie(config.publicUrl);

  /**
   * The claims of an ID token roost signed, whatever its age (§2 lets a
   * client log out with an expired one): the signature against the
   * published keys, the issuer, and the claims logout needs.
   */
  const verifyHint = async (token: string): Promise<IdTokenHintClaims | undefined> => {
    const jwks = deps.keys.published().jwks;
    try {
      const { payload, protectedHeader } = await compactVerify(token, createLocalJWKSet({ keys: jwks.keys.map((key) => ({ ...key })) }), {
        algorithms: [...new Set(jwks.keys.map((key) => key.alg))],
      });
      // An access token (typ at+jwt) is no ID token.
      if (protectedHeader.typ !== undefined && protectedHeader.typ.toLowerCase() !== 'jwt') return undefined;
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      const aud = claims.aud;
      const audOk = typeof aud === 'string' || (Array.isArray(aud) && aud.every((item) => typeof item === 'string'));
      if (claims.iss !== config.publicUrl || typeof claims.sub !== 'string' || !audOk) return undefined;
      return {
        aud: aud as string | string[],
        sub: claims.sub,
        ...(typeof claims.azp === 'string' ? { azp: claims.azp } : {}),
        ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
      };
    } catch {
      return undefined;
    }
  };

  const end = async (request: FastifyRequest, ids: { browserSessionId: string | null; sessionId?: string | undefined }) => {
    const ended = await endBrowserSessions(deps.db, ids, 'logout', deps.now());
    const client = clientInfo(request);
    for (const session of ended) {
      deps.sessionCheck.forget(session.id);
      await deps.audit.record(deps.db, { type: 'session.ended', userId: session.userId, sessionId: session.id, ip: client.ip, userAgent: client.userAgent, detail: { reason: 'logout' } });
    }
  };

  const endSession = async (request: FastifyRequest, reply: FastifyReply, params: RawParams) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const read = readLogoutParams(params);
    if (!read.ok) throw new AppError('invalid_request', read.reason);
    const hint = read.value.idTokenHint === undefined ? undefined : await verifyHint(read.value.idTokenHint);
    const check = checkLogoutRequest(read.value, hint, oidc.clients);
    if (check.kind === 'page-error') throw new AppError('invalid_request', check.reason);

    const cookie = request.cookies[sso.name];
    const cookieSession = await findBrowserSession(deps.db, cookie, deps.now(), config.sessionIdleTtl);
    // The cookie goes only when it named nothing live or what it named ended here: a logout of someone else's session leaves this browser's alone.
    let clearCookie = cookie !== undefined && cookieSession === undefined;
    const named = check.endSession;
    if (named !== undefined) {
      // The session the ID token was issued in, and its browser session; and this browser's, when it is the same person's.
      const sid = named.sid !== undefined && isSessionId(named.sid) ? named.sid : undefined;
      const browserOfSid = sid === undefined ? undefined : await browserSessionOf(deps.db, sid, named.sub);
      if (sid !== undefined && browserOfSid !== undefined) await end(request, { browserSessionId: browserOfSid, sessionId: sid });
      if (cookieSession !== undefined && (cookieSession.userId === named.sub || cookieSession.id === browserOfSid)) {
        await end(request, { browserSessionId: cookieSession.id });
        clearCookie = true;
      }
    } else {
      const confirmed = request.method === 'POST' && params.confirm === 'yes';
      if (!confirmed) {
        const fields = Object.fromEntries(
          Object.entries({ client_id: check.client?.clientId, post_logout_redirect_uri: read.value.postLogoutRedirectUri, state: read.value.state }).filter(
            (entry): entry is [string, string] => entry[1] !== undefined,
          ),
        );
        return reply
          .header('content-security-policy', confirmPageCsp(check.redirectTo === undefined ? undefined : sourceOf(new URL(check.redirectTo))))
          .type('text/html; charset=utf-8')
          .send(confirmLogoutPage(`${config.publicUrl}/end_session`, fields, check.client?.name));
      }
      if (cookieSession !== undefined) {
        await end(request, { browserSessionId: cookieSession.id });
        clearCookie = true;
      }
    }
    if (clearCookie) reply.clearCookie(sso.name, sso.options);
    if (check.redirectTo !== undefined) return reply.redirect(check.redirectTo, 302);
    return reply.header('content-security-policy', LOGOUT_PAGE_CSP).type('text/html; charset=utf-8').send(signedOutPage());
  };

  const route = { exposeHeadRoute: false, bodyLimit: END_SESSION_BODY_LIMIT, config: rateLimited(config.loginRateLimit, config.loginRateLimitWindow) };
  app.get<{ Querystring: RawParams }>('/end_session', route, (request, reply) => endSession(request, reply, request.query));
  app.post<{ Body: RawParams }>('/end_session', route, (request, reply) => {
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      throw new AppError('unsupported_media_type', 'POST /end_session takes its parameters as a form (application/x-www-form-urlencoded)');
    }
    return endSession(request, reply, request.body ?? {});
  });
};

/** A CSP source for where the answer goes: its origin, or its scheme for a native app's custom scheme (whose origin is opaque). */
function sourceOf(url: URL): string {
  return url.origin === 'null' ? url.protocol : url.origin;
}
