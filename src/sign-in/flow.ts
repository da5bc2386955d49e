// The sign-in flow (docs/flow.md): start hands the browser to X (over
// OAuth 1.0a or 2.0, whichever the upstream speaks); finish takes the stored
// flow once, checks the browser, finishes with X, stores the profile, and
// either opens a session and puts its tokens in the fragment, or (PKCE mode)
// puts a one-time code in the query; the app's `state` goes back with
// either, and with every error.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { issueCode } from './auth-codes.js';
import { encryptSecret, type EncryptionKeys } from '../keys/crypto-box.js';
import type { Db } from '../store/db.js';
import { AppError } from '../errors.js';
import type { FlowStore } from './flow-store.js';
import { openSession, type ClientInfo, type GrantDeps } from '../sessions/grants.js';
import type { CallbackParams, CodeRequest, LoginRequest } from './login-params.js';
import { checkReturnTo, withFragment, withQuery } from './return-to.js';
import type { Upstream, UpstreamProtocol } from '../twitter/upstream.js';
import { upsertUser } from '../users/profiles.js';
import type { SignInHook } from '../webhooks/sign-in-hook.js';
import { codeResponseUrl, errorResponseUrl, type AuthorizationResponseError } from '../oidc/authorization-response.js';
import { openBrowserSession, type OpenedBrowserSession } from '../oidc/browser-sessions.js';
import { findRedirectUri } from './redirect-uris.js';

export interface SignInDeps extends GrantDeps {
  /** SIGN_IN_HOOK_URL's caller, when one is set. */
  readonly signInHook?: SignInHook | undefined;
  readonly config: GrantDeps['config'] &
    Pick<Config, 'callbackUrl' | 'flowTtl' | 'returnToUrls' | 'oidc'> & { readonly twitter: Pick<Config['twitter'], 'email'>; readonly signInHook?: Pick<NonNullable<Config['signInHook']>, 'failOpen'> | undefined };
  readonly store: FlowStore;
  readonly upstream: Upstream;
  readonly db: Db;
  readonly encryptionKeys: EncryptionKeys;
}

interface FlowRecord {
  /** The protocol the flow started with; records written before OAuth 2.0 have none and are 1.0a. */
  readonly protocol?: UpstreamProtocol;
  /** The request token secret (1.0a) or the PKCE code_verifier (2.0). */
  readonly secret: string;
  readonly returnTo: string;
  /** SHA-256 of the browser binding; the binding itself lives only in the browser's cookie. */
  readonly binding: string;
  /** PKCE mode (RFC 7636): the app's S256 challenge. Records written before `state` moved out may carry it here too. */
  readonly codeRequest?: CodeRequest & { readonly state?: string };
  /** The app's opaque state, sent back with every answer. */
  readonly state?: string;
  /** A registered client's authorization request (the OpenID Connect provider); returnTo is its redirect_uri. */
  readonly oidc?: PendingAuthorization;
}

/** What an authorization request at /authorize asked for, kept while the person is at X. */
export interface PendingAuthorization {
  readonly clientId: string;
  /** Space-separated, the scopes roost understood. */
  readonly scope: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly codeChallenge?: string;
}

export interface StartedSignIn {
  readonly location: string;
  /** Goes into the browser's HttpOnly cookie. */
  readonly binding: string;
}

/** How a callback whose flow was found ends: always back at the app, with tokens, a code or an error. */
export type SignInOutcome =
  | {
      readonly kind: 'signed-in';
      readonly location: string;
      readonly tokensIssued: boolean;
      readonly userId: string;
      readonly sessionId?: string;
      readonly isNewUser: boolean;
      /** Through /authorize: the browser session to keep in the browser's cookie. */
      readonly browserSession?: OpenedBrowserSession;
      /** Through /authorize: the client the code is for. */
      readonly clientId?: string;
    }
  /**
   * The user cancelled at X; (TWITTER_EMAIL=required) X had no confirmed
   * email for them; an operator suspended the account; the sign-in hook said no.
   */
  | { readonly kind: 'denied'; readonly reason: 'cancelled' | 'email_required' | 'suspended' | 'hook_refused'; readonly location: string; readonly userId?: string }
  | { readonly kind: 'failed'; readonly location: string; readonly error: AppError; readonly cause: unknown };

/** `oidc`: the sign-in serves a registered client's authorization request, and returnTo is its redirect_uri. */
export async function startSignIn(deps: SignInDeps, returnTo: string, request: LoginRequest, oidc?: PendingAuthorization): Promise<StartedSignIn> {
  const binding = randomBytes(32).toString('base64url');
  const started = await deps.upstream.begin(deps.config.callbackUrl);
  const record: FlowRecord = {
    protocol: deps.upstream.protocol,
    secret: started.secret,
    returnTo,
    binding: digest(binding),
    ...(request.codeRequest ? { codeRequest: request.codeRequest } : {}),
    ...(request.state !== undefined ? { state: request.state } : {}),
    ...(oidc ? { oidc } : {}),
  };
  await deps.store.put(flowKey(started.handle), JSON.stringify(record), deps.config.flowTtl);
  return { location: started.location, binding };
}

/**
 * Throws only while no app is known to send the browser back to (an unknown,
 * expired or replayed flow; a return_to no longer registered). From then on
 * every failure goes back to the app as an OAuth error (RFC 6749 §4.1.2.1).
 */
export async function finishSignIn(
  deps: SignInDeps,
  params: CallbackParams & { readonly protocol: UpstreamProtocol },
  binding: string | undefined,
  client: ClientInfo,
  /** Told when the sign-in hook failed and SIGN_IN_HOOK_FAIL_OPEN let the sign-in through. */
  hookFailedOpen?: (problem: string) => void,
): Promise<SignInOutcome> {
  // Taken before anything else, so a callback URL works once whatever happens next.
  const stored = await deps.store.take(flowKey(params.handle));
  if (stored === null) throw new AppError('flow_not_found', 'This sign-in is unknown, expired or already used; start again');
  const record = JSON.parse(stored) as FlowRecord;
  const { codeRequest, oidc } = record;
  // Checked again: the registered URLs (or the client) may have changed since the flow started.
  const target = oidc ? checkClientRedirect(deps, oidc.clientId, record.returnTo) : checkReturnTo(record.returnTo, deps.config.returnToUrls);
  if (!target.ok) throw new AppError('return_to_not_allowed', target.reason);
  const state = oidc ? oidc.state : (record.state ?? codeRequest?.state);
  const issuer = deps.config.publicUrl;
  // In the code mode the answer goes in the query (RFC 6749 §4.1.2), in the fragment mode in the fragment; `state` with either.
  // A registered client's answer carries iss too (RFC 9207).
  const answer = (params: Record<string, string>) => {
    if (oidc && params.error !== undefined) {
      return errorResponseUrl(target.url, { error: params.error as AuthorizationResponseError, description: params.error_description ?? '', state, issuer });
    }
    if (oidc && params.code !== undefined) return codeResponseUrl(target.url, { code: params.code, state, issuer });
    const all = state === undefined ? params : { ...params, state };
    return codeRequest ? withQuery(target.url, all) : withFragment(target.url, all);
  };
  const fail = (error: AppError, cause: unknown = error): SignInOutcome => ({
    kind: 'failed',
    error,
    cause,
    location: answer({ error: oauthErrorFor(error), error_description: error.detail }),
  });

  if (binding === undefined || !sameDigest(digest(binding), record.binding)) {
    return fail(new AppError('flow_browser_mismatch', 'This sign-in was started in another browser or tab; start again here'));
  }
  const protocol = record.protocol ?? 'oauth1';
  // X answers in the protocol the flow began with; an answer in the other one's words is not X's.
  if (params.protocol !== protocol) {
    return fail(new AppError('invalid_callback', `This answer is in ${params.protocol} parameters, but the sign-in began over ${protocol}; start again`));
  }
  if (params.kind === 'denied') {
    return { kind: 'denied', reason: 'cancelled', location: answer({ error: 'access_denied', error_description: 'The user did not authorize the app at X' }) };
  }
  if (protocol !== deps.upstream.protocol) {
    return fail(new AppError('flow_not_found', `This sign-in began over ${protocol} before roost switched to ${deps.upstream.protocol}; start again`));
  }
  if (params.kind === 'upstream-error') {
    // X's own trouble is worth a retry; anything else it refuses points at the app's settings at X.
    if (params.error === 'server_error' || params.error === 'temporarily_unavailable') {
      return fail(new AppError('twitter_unavailable', `X answered the sign-in with ${params.error}; try again shortly`));
    }
    return fail(
      new AppError(
        'twitter_auth_failed',
        `X refused the sign-in request with ${params.error}: check the app's OAuth 2.0 settings in X's developer portal (the callback URL ${deps.config.callbackUrl}, the type of app, the scopes)`,
      ),
    );
  }
  try {
    const { profile, credentials } = await deps.upstream.complete({ handle: params.handle, secret: record.secret }, params.grant, deps.config.callbackUrl);
    if (deps.config.twitter.email === 'required' && profile.email === null) {
      return {
        kind: 'denied',
        reason: 'email_required',
        location: answer({ error: 'access_denied', error_description: 'This app needs a confirmed email address: add one to the X account, then sign in again' }),
      };
    }
    // Sealed with the current key every time, so a sign-in after a key rotation re-encrypts them.
    const key = deps.encryptionKeys;
    const user = await upsertUser(deps.db, profile, {
      protocol: credentials.protocol,
      token: encryptSecret(key, credentials.token, `twitter_token:${profile.twitterId}`),
      secret: credentials.secret === null ? null : encryptSecret(key, credentials.secret, `twitter_token_secret:${profile.twitterId}`),
    });
    // A ban outlives sign-ins: the account stays suspended until an operator lifts it.
    if (user.banned_at !== null) {
      return { kind: 'denied', reason: 'suspended', userId: user.id, location: answer({ error: 'access_denied', error_description: 'This account is suspended' }) };
    }
    let claims: Readonly<Record<string, unknown>> | undefined;
    if (deps.signInHook) {
      const verdict = await deps.signInHook.call({ user, isNewUser: user.is_new, protocol: credentials.protocol });
      if (verdict.outcome === 'refused') {
        return { kind: 'denied', reason: 'hook_refused', userId: user.id, location: answer({ error: 'access_denied', error_description: verdict.reason }) };
      }
      if (verdict.outcome === 'allowed') claims = verdict.claims;
      else if (deps.config.signInHook?.failOpen !== true) {
        return fail(new AppError('sign_in_hook_failed', 'Signing in is briefly unavailable; try again shortly', { cause: new Error(`the sign-in hook failed (${verdict.kind}): ${verdict.problem}`) }));
      } else hookFailedOpen?.(verdict.problem);
    }
    if (oidc) {
      // The browser session first: the code names it, and a logout there ends what the code opens.
      const authTimeMs = deps.now();
      const browserSession = await openBrowserSession(deps.db, { userId: user.id, authTimeMs, ttlSeconds: deps.config.sessionTtl, claims, ...client });
      if (!browserSession) return fail(new AppError('invalid_grant', 'The user of this sign-in no longer exists or is suspended'));
      const code = await issueCode(
        deps.store,
        {
          userId: user.id,
          challenge: oidc.codeChallenge ?? null,
          redirectUri: target.url,
          ...(claims ? { claims } : {}),
          oidc: { clientId: oidc.clientId, scope: oidc.scope, ...(oidc.nonce !== undefined ? { nonce: oidc.nonce } : {}), authTimeMs, browserSessionId: browserSession.id },
        },
        deps.now(),
      );
      return { kind: 'signed-in', location: answer({ code }), tokensIssued: false, userId: user.id, isNewUser: user.is_new, browserSession, clientId: oidc.clientId, sessionId: browserSession.id };
    }
    if (codeRequest) {
      const code = await issueCode(deps.store, { userId: user.id, challenge: codeRequest.challenge, redirectUri: target.url, ...(claims ? { claims } : {}) }, deps.now());
      return { kind: 'signed-in', location: answer({ code }), tokensIssued: false, userId: user.id, isNewUser: user.is_new };
    }
    const { sessionId, response: tokens } = await openSession(deps, user, client, claims);
    const location = answer({
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      expires_in: String(tokens.expires_in),
      refresh_token: tokens.refresh_token,
    });
    return { kind: 'signed-in', location, tokensIssued: true, userId: user.id, sessionId, isNewUser: user.is_new };
  } catch (error) {
    return fail(error instanceof AppError ? error : new AppError('internal_error', 'Something went wrong on our side', { cause: error }), error);
  }
}

/** A registered client's redirect_uri, still registered: the client may have been removed while the person was at X. */
function checkClientRedirect(deps: SignInDeps, clientId: string, redirectUri: string): { ok: true; url: string } | { ok: false; reason: string } {
  const client = deps.config.oidc?.clients.find(clientId);
  if (client === undefined) return { ok: false, reason: 'The client of this sign-in is no longer registered' };
  if (findRedirectUri(redirectUri, client.redirectUris) === undefined) return { ok: false, reason: 'The redirect_uri of this sign-in is no longer registered' };
  return { ok: true, url: redirectUri };
}

/**
 * The OAuth error code (RFC 6749 §4.1.2.1) an app receives for a failed
 * sign-in: worth a retry shortly, refused at Twitter, or roost's own failure.
 */
export function oauthErrorFor(error: AppError): 'temporarily_unavailable' | 'access_denied' | 'server_error' {
  if (error.status === 503 || error.status === 504 || error.code === 'twitter_unavailable' || error.code === 'rate_limited') return 'temporarily_unavailable';
  if (['twitter_rejected_verifier', 'flow_browser_mismatch', 'flow_not_found', 'invalid_callback'].includes(error.code)) {
    return 'access_denied';
  }
  return 'server_error';
}

/** Store keys carry a hash of the handle (request token or state), so it never appears in Redis key listings. */
function flowKey(handle: string): string {
  return `flow:${digest(handle)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
