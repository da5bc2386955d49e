// X's OAuth 2.0 Authorization Code with PKCE, served beside 1.0a under the
// same prefix: the consent page at i/oauth2/authorize, the token and
// revocation endpoints, and /2/users/me. Each route answers its own errors
// in its own shape: pages for people, RFC 6749 §5.2 JSON at the OAuth
// endpoints, API v2 problems at /2/users/me.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkAuthorizationRequest, type AuthorizationCheck, type AuthorizationRequest, type RegisteredClient } from './oauth2-authorize.js';
import { createOAuth2Store } from './oauth2-store.js';
import { answerRevokeRequest, answerTokenRequest, type ClientCredentials, type TokenAnswer, type TokenContext } from './oauth2-token.js';
import { renderAuthorizePage } from './pages.js';
import { formOf, rawFormBody, rawQuery, sendErrorPage, sendPage, sendRedirect, single, withQuery } from './replies.js';
import type { SandboxUser } from './users.js';
import { readUserFieldsQuery, toV2User } from './v2-user.js';

/** Where X serves OAuth 2.0, relative to the sandbox's prefix (x.com for the page, api.x.com for the rest). */
export const OAUTH2_PATHS = {
  authorize: '/i/oauth2/authorize',
  token: '/2/oauth2/token',
  revoke: '/2/oauth2/revoke',
  usersMe: '/2/users/me',
} as const;

export interface OAuth2RoutesOptions {
  /** Undefined when the sandbox has no OAuth 2.0 app registered: every client is unknown. */
  readonly client: (ClientCredentials & { readonly redirectUris: readonly string[] }) | undefined;
  /** Read on every request, as the 1.0a side reads it. */
  readonly users: SandboxUser[];
  readonly now: () => number;
}

// /2/users/me needs both (docs.x.com, GET /2/users/me: "tweet.read users.read").
const USERS_ME_SCOPES = ['tweet.read', 'users.read'] as const;
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

export function installOAuth2Routes(instance: FastifyInstance, options: OAuth2RoutesOptions): void {
  const { client } = options;
  const store = createOAuth2Store(options.now);
  const findUser = (id: string) => options.users.find((user) => user.id_str === id);
  const registered: RegisteredClient | undefined = client && { clientId: client.clientId, redirectUris: client.redirectUris };
  const tokenContext: TokenContext = { client, store, userExists: (id) => findUser(id) !== undefined };

  const decide = (reply: FastifyReply, authorization: AuthorizationRequest, form: URLSearchParams) => {
    const { redirectUri, state } = authorization;
    const action = single(form, 'action');
    if (action === 'cancel') return sendRedirect(reply, withQuery(redirectUri, { error: 'access_denied', state }));
    if (action !== 'approve') return sendErrorPage(reply, 400, 'Unknown action', 'Choose Approve or Cancel.');
    const userId = single(form, 'user_id');
    const user = userId === undefined ? undefined : findUser(userId);
    if (user === undefined) return sendErrorPage(reply, 400, 'Unknown account', 'Choose one of the listed accounts.');
    const { clientId, codeChallenge, scopes } = authorization;
    const code = store.issueCode({ clientId, redirectUri, codeChallenge, scopes, userId: user.id_str });
    return sendRedirect(reply, withQuery(redirectUri, { code: code.code, state }));
  };

  instance.get(OAUTH2_PATHS.authorize, { errorHandler: pageErrorHandler }, async (request, reply) => {
    const checked = checkAuthorizationRequest(rawQuery(request), registered);
    if (checked.kind !== 'valid') return refuseAuthorization(reply, checked);
    const { redirectUri, scopes } = checked.request;
    return sendPage(reply, 200, renderAuthorizePage({ redirectTo: redirectUri, users: options.users, scopes }));
  });

  // The consent form posts back to the page's own URL, so the request is checked again from its query.
  instance.post(OAUTH2_PATHS.authorize, { errorHandler: pageErrorHandler }, async (request, reply) => {
    const checked = checkAuthorizationRequest(rawQuery(request), registered);
    if (checked.kind !== 'valid') return refuseAuthorization(reply, checked);
    return decide(reply, checked.request, formOf(request));
  });

  instance.post(OAUTH2_PATHS.token, { errorHandler: oauthErrorHandler }, async (request, reply) =>
    sendTokenAnswer(reply, answerTokenRequest(tokenContext, request.headers.authorization, rawFormBody(request))),
  );

  instance.post(OAUTH2_PATHS.revoke, { errorHandler: oauthErrorHandler }, async (request, reply) =>
    sendTokenAnswer(reply, answerRevokeRequest(tokenContext, request.headers.authorization, rawFormBody(request))),
  );

  instance.get(OAUTH2_PATHS.usersMe, { errorHandler: v2ErrorHandler }, async (request, reply) => {
    const token = readBearerToken(request.headers.authorization);
    const entry = token === undefined ? undefined : store.findAccessToken(token);
    const user = entry === undefined ? undefined : findUser(entry.grant.userId);
    if (entry === undefined || user === undefined) return sendV2Problem(reply, 401, 'Unauthorized');
    if (!USERS_ME_SCOPES.every((scope) => entry.grant.scopes.includes(scope))) return sendV2Problem(reply, 403, 'Forbidden');
    const query = readUserFieldsQuery(rawQuery(request));
    if (!query.ok) return reply.code(400).type(JSON_TYPE).send(query.body);
    return reply.type(JSON_TYPE).send({ data: toV2User(user, query.fields, entry.grant.scopes) });
  });
}

/** An unknown client or redirect URI gets a page; any other fault goes back to the registered redirect URI. */
function refuseAuthorization(reply: FastifyReply, checked: Exclude<AuthorizationCheck, { kind: 'valid' }>): FastifyReply {
  if (checked.kind === 'page') return sendErrorPage(reply, 400, checked.title, checked.message);
  return sendRedirect(reply, withQuery(checked.redirectUri, { ...checked.params }));
}

/** RFC 6750 §2.1: `Bearer <b64token>`, the scheme in any case. */
function readBearerToken(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  return match?.[1];
}

function sendTokenAnswer(reply: FastifyReply, answer: TokenAnswer): FastifyReply {
  if (answer.wwwAuthenticate !== undefined) reply.header('www-authenticate', answer.wwwAuthenticate);
  return sendOAuthJson(reply, answer.status, answer.body);
}

function sendOAuthJson(reply: FastifyReply, status: number, body: TokenAnswer['body']): FastifyReply {
  // RFC 6749 §5.1: token answers, and their errors, are never cached.
  return reply.code(status).headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).type(JSON_TYPE).send(JSON.stringify(body));
}

/** API v2's problem answer: a refused token (401), a missing scope (403), an unreadable request or a failure. */
function sendV2Problem(reply: FastifyReply, status: number, title: string): FastifyReply {
  return reply.code(status).type(PROBLEM_TYPE).send(JSON.stringify({ title, type: 'about:blank', status, detail: title }));
}

// Unreadable bodies (too large, malformed JSON, an unknown media type) and failures, in each route's own shape.
function pageErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isServerError(error, request)) return sendErrorPage(reply, 500, 'Something went wrong', 'Go back to the application and start again.');
  return sendErrorPage(reply, error.statusCode ?? 400, 'This request could not be read', 'Go back to the application and start again.');
}

function oauthErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isServerError(error, request)) return sendOAuthJson(reply, 500, { error: 'server_error', error_description: 'Internal error.' });
  return sendOAuthJson(reply, error.statusCode ?? 400, { error: 'invalid_request', error_description: 'The request body could not be read.' });
}

function v2ErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isServerError(error, request)) return sendV2Problem(reply, 500, 'Internal Server Error');
  return sendV2Problem(reply, error.statusCode ?? 400, 'Invalid Request');
}

function isServerError(error: FastifyError, request: FastifyRequest): boolean {
  if ((error.statusCode ?? 500) < 500) return false;
  request.log.error({ err: error }, 'sandbox provider failed');
  return true;
}
