// roost's stand-in for X, speaking both of its sign-in protocols under one
// prefix: OAuth 1.0a's three legs of "Sign in with Twitter" (RFC 5849 §2)
// plus verify_credentials, each signed request verified as strictly as
// Twitter does; and OAuth 2.0 with PKCE (oauth2-routes.ts). A Fastify plugin,
// deliberately NOT wrapped in fastify-plugin: its body parser and error
// handlers stay inside its prefix.
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { percentEncode } from './oauth1-signature.js';
import { installOAuth2Routes } from './oauth2-routes.js';
import { renderAuthorizePage } from './pages.js';
import { formOf, rawFormBody, rawQuery, sendErrorPage, sendPage, sendRedirect, single, withQuery } from './replies.js';
import { FAILURES, verifySignedRequest, type SignedRequestInput, type TwitterFailure, type VerifierContext } from './signed-request.js';
import { createSandboxStore } from './store.js';
import { confirmedEmailOf, type SandboxUser } from './users.js';

export { OAUTH2_PATHS } from './oauth2-routes.js';

export interface SandboxProviderOptions {
  /** The OAuth 1.0a app. */
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /**
   * The OAuth 2.0 app, a confidential client (HTTP Basic at the token
   * endpoint); both or neither. Without them the 2.0 endpoints are still
   * served but know no client.
   */
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Read on every request: a test may rename, add or remove users by mutating this array. */
  readonly users: SandboxUser[];
  /** Milliseconds since the epoch; defaults to Date.now. */
  readonly now?: () => number;
  /**
   * The absolute URL this provider is reachable at, from which the URL the
   * client signed is rebuilt. Without it: request protocol + Host + prefix.
   */
  readonly baseUrl?: string;
  /**
   * The app's registered callback URLs, for both protocols, compared exactly.
   * request_token refuses any other oauth_callback (Twitter error 415); when
   * not given, 1.0a takes any. i/oauth2/authorize shows an error page for any
   * other redirect_uri; when not given, 2.0 takes none.
   */
  readonly allowedCallbacks?: readonly string[];
}

export interface SandboxServerOptions extends SandboxProviderOptions {
  readonly host?: string;
  readonly port?: number;
  /** Off unless asked. */
  readonly logger?: FastifyServerOptions['logger'];
}

export interface SandboxServer {
  /** Where the provider listens, e.g. http://127.0.0.1:54321 (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

const PATHS = {
  requestToken: '/oauth/request_token',
  authenticate: '/oauth/authenticate',
  accessToken: '/oauth/access_token',
  verifyCredentials: '/1.1/account/verify_credentials.json',
  invalidateToken: '/1.1/oauth/invalidate_token',
} as const;

// Twitter's own wording when the verifier does not match (plain text, not JSON).
const INVALID_VERIFIER = 'Error processing your OAuth request: Invalid oauth_verifier parameter';
const FORM_BODY_LIMIT = 64 * 1024;

type ResolveBaseUrl = (request: FastifyRequest) => string;

export const sandboxProvider: FastifyPluginAsync<SandboxProviderOptions> = async (instance, options) => {
  const { baseUrl } = options;
  const prefix = instance.prefix;
  installSandboxProvider(instance, options, baseUrl !== undefined ? () => baseUrl : (request) => `${request.protocol}://${request.host}${prefix}`);
};

/** Runs the provider alone at the root of its own Fastify instance (for tests and local tries). */
export async function startSandboxServer(options: SandboxServerOptions): Promise<SandboxServer> {
  const app = Fastify({ logger: options.logger ?? false });
  let url = '';
  app.register(async (instance) => installSandboxProvider(instance, options, () => options.baseUrl ?? url));
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  return { url, close: () => app.close() };
}

function installSandboxProvider(instance: FastifyInstance, options: SandboxProviderOptions, resolveBaseUrl: ResolveBaseUrl): void {
  const { clientId, clientSecret } = options;
  if ((clientId === undefined) !== (clientSecret === undefined)) throw new Error('sandbox provider: give clientId and clientSecret together, or neither');
  const now = options.now ?? Date.now;
  const store = createSandboxStore(now);
  const context: VerifierContext = { consumerKey: options.consumerKey, consumerSecret: options.consumerSecret, now, store };
  const findUser = (id: string) => options.users.find((user) => user.id_str === id);

  // Keep the raw form body: §3.4.1.3.1 signs its pairs in order, repeats included.
  if (instance.hasContentTypeParser('application/x-www-form-urlencoded')) instance.removeContentTypeParser('application/x-www-form-urlencoded');
  instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  instance.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'sandbox provider failed');
      return sendTwitterError(reply, { ok: false, status: 500, code: 131, message: 'Internal error.' });
    }
    // Unreadable bodies and the like: Twitter's answer to a malformed OAuth request.
    return sendTwitterError(reply, { ...FAILURES.badAuthenticationData, status });
  });

  const signedInput = (request: FastifyRequest, path: string): SignedRequestInput => ({
    method: request.method,
    url: `${resolveBaseUrl(request).replace(/\/+$/, '')}${path}`,
    authorization: request.headers.authorization,
    query: rawQuery(request),
    formBody: rawFormBody(request),
  });

  installOAuth2Routes(instance, {
    client:
      clientId === undefined || clientSecret === undefined ? undefined : { clientId, clientSecret, redirectUris: options.allowedCallbacks ?? [] },
    users: options.users,
    now,
  });

  // Leg 1 (RFC 5849 §2.1): temporary credentials, bound to the client's callback.
  instance.post(PATHS.requestToken, async (request, reply) => {
    const verified = verifySignedRequest(context, signedInput(request, PATHS.requestToken), 'no-token');
    if (!verified.ok) return sendTwitterError(reply, verified);
    const callback = verified.oauth.oauth_callback;
    if (callback === undefined || !isAbsoluteHttpUrl(callback)) return sendTwitterError(reply, FAILURES.badAuthenticationData);
    if (options.allowedCallbacks !== undefined && !options.allowedCallbacks.includes(callback)) {
      return sendTwitterError(reply, FAILURES.callbackNotApproved);
    }
    const entry = store.issueRequestToken(callback);
    return sendForm(reply, { oauth_token: entry.token, oauth_token_secret: entry.secret, oauth_callback_confirmed: 'true' });
  });

  // Leg 2 (§2.2): the resource owner picks an account and approves or refuses.
  instance.get(PATHS.authenticate, async (request, reply) => {
    const { oauth_token: token } = request.query as Record<string, unknown>;
    const entry = typeof token === 'string' ? store.findUndecidedRequestToken(token) : undefined;
    if (entry === undefined) return sendUnknownTokenPage(reply);
    return sendPage(reply, 200, renderAuthorizePage({ hiddenFields: { oauth_token: entry.token }, redirectTo: entry.callback, users: options.users }));
  });

  instance.post(PATHS.authenticate, async (request, reply) => {
    const form = formOf(request);
    const token = single(form, 'oauth_token');
    const entry = token === undefined ? undefined : store.findUndecidedRequestToken(token);
    if (entry === undefined) return sendUnknownTokenPage(reply);
    const action = single(form, 'action');
    if (action === 'cancel') {
      store.forgetRequestToken(entry);
      return sendRedirect(reply, withQuery(entry.callback, { denied: entry.token }));
    }
    if (action !== 'approve') return sendErrorPage(reply, 400, 'Unknown action', 'Choose Approve or Cancel.');
    const userId = single(form, 'user_id');
    const user = userId === undefined ? undefined : findUser(userId);
    if (user === undefined) return sendErrorPage(reply, 400, 'Unknown account', 'Choose one of the listed accounts.');
    const verifier = store.approve(entry, user.id_str);
    return sendRedirect(reply, withQuery(entry.callback, { oauth_token: entry.token, oauth_verifier: verifier }));
  });

  // Leg 3 (§2.3): the request token and verifier become the user's access token.
  instance.post(PATHS.accessToken, async (request, reply) => {
    const verified = verifySignedRequest(context, signedInput(request, PATHS.accessToken), (token) => store.findRequestToken(token));
    if (!verified.ok) return sendTwitterError(reply, verified);
    const entry = verified.token;
    // Taken in the same tick as the lookup: a request token is exchanged at most once, right or wrong.
    store.forgetRequestToken(entry);
    // Twitter takes the verifier from the header or the form body (both are signed, §3.4.1.3.1), but only once.
    const verifiers = [verified.oauth.oauth_verifier, ...verified.form.filter(([name]) => name === 'oauth_verifier').map(([, value]) => value)];
    const given = verifiers.filter((value) => value !== undefined);
    if (given.length > 1) return sendTwitterError(reply, FAILURES.badAuthenticationData);
    if (entry.approval === undefined || given[0] !== entry.approval.verifier) {
      return reply.code(401).type('text/plain; charset=utf-8').send(INVALID_VERIFIER);
    }
    const user = findUser(entry.approval.userId);
    if (user === undefined) return sendTwitterError(reply, FAILURES.invalidToken);
    const access = store.accessTokenFor(user.id_str);
    return sendForm(reply, { oauth_token: access.token, oauth_token_secret: access.secret, user_id: user.id_str, screen_name: user.screen_name });
  });

  instance.get(PATHS.verifyCredentials, async (request, reply) => {
    const verified = verifySignedRequest(context, signedInput(request, PATHS.verifyCredentials), (token) => store.findAccessToken(token));
    if (!verified.ok) return sendTwitterError(reply, verified);
    const user = findUser(verified.token.userId);
    if (user === undefined) return sendTwitterError(reply, FAILURES.invalidToken);
    const { include_email: includeEmail } = request.query as Record<string, unknown>;
    return reply.type('application/json; charset=utf-8').send({
      // Twitter's numeric id loses precision past 2^53, as here; clients must read id_str.
      id: Number(user.id_str),
      id_str: user.id_str,
      name: user.name,
      screen_name: user.screen_name,
      profile_image_url_https: user.profile_image_url_https,
      // Asked for only: the address when confirmed, else null (as Twitter answers an unverified one).
      ...(isTwitterTrue(includeEmail) ? { email: confirmedEmailOf(user) } : {}),
    });
  });

  // Twitter's token revocation, signed with the access token it revokes; that token then gets error 89.
  instance.post(PATHS.invalidateToken, async (request, reply) => {
    const verified = verifySignedRequest(context, signedInput(request, PATHS.invalidateToken), (token) => store.findAccessToken(token));
    if (!verified.ok) return sendTwitterError(reply, verified);
    store.revokeAccessToken(verified.token);
    return reply.type('application/json; charset=utf-8').send({ access_token: verified.token.token });
  });
}

function sendTwitterError(reply: FastifyReply, failure: TwitterFailure): FastifyReply {
  return reply
    .code(failure.status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ errors: [{ code: failure.code, message: failure.message }] }));
}

/** Twitter answers the OAuth endpoints form-encoded, under a text/html content type. */
function sendForm(reply: FastifyReply, fields: Record<string, string>): FastifyReply {
  const body = Object.entries(fields)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
  return reply.type('text/html; charset=utf-8').send(body);
}

function sendUnknownTokenPage(reply: FastifyReply): FastifyReply {
  return sendErrorPage(
    reply,
    400,
    'This sign-in request is unknown or expired',
    'The request token is unknown, expired or already used. Go back to the application and start again.',
  );
}

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Twitter's boolean query parameters accept true, t and 1. */
function isTwitterTrue(value: unknown): boolean {
  return value === 'true' || value === 't' || value === '1';
}
