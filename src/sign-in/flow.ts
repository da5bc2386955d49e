// The sign-in flow (docs/flow.md): start hands the browser to
// Twitter; finish takes the stored flow once, checks the browser, finishes
// the OAuth dance, stores the profile, and either opens a session and puts
// its tokens in the fragment, or (PKCE mode) puts a one-time code in the
// query; the app's `state` goes back with either, and with every error.
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
import type { TwitterClient } from '../twitter/client.js';
import { upsertUser } from '../users/profiles.js';

export interface SignInDeps extends GrantDeps {
  readonly config: GrantDeps['config'] & Pick<Config, 'callbackUrl' | 'flowTtl' | 'returnToUrls'>;
  readonly store: FlowStore;
  readonly twitter: TwitterClient;
  readonly db: Db;
  readonly encryptionKeys: EncryptionKeys;
}

interface FlowRecord {
  readonly secret: string;
  readonly returnTo: string;
  /** SHA-256 of the browser binding; the binding itself lives only in the browser's cookie. */
  readonly binding: string;
  /** PKCE mode (RFC 7636): the app's S256 challenge. Records written before `state` moved out may carry it here too. */
  readonly codeRequest?: CodeRequest & { readonly state?: string };
  /** The app's opaque state, sent back with every answer. */
  readonly state?: string;
}

export interface StartedSignIn {
  readonly location: string;
  /** Goes into the browser's HttpOnly cookie. */
  readonly binding: string;
}

/** How a callback whose flow was found ends: always back at the app, with tokens, a code or an error. */
export type SignInOutcome =
  | { readonly kind: 'signed-in'; readonly location: string; readonly tokensIssued: boolean }
  | { readonly kind: 'denied'; readonly location: string }
  | { readonly kind: 'failed'; readonly location: string; readonly error: AppError; readonly cause: unknown };

export async function startSignIn(deps: SignInDeps, returnTo: string, request: LoginRequest): Promise<StartedSignIn> {
  const binding = randomBytes(32).toString('base64url');
  const requestToken = await deps.twitter.requestToken(deps.config.callbackUrl);
  const record: FlowRecord = {
    secret: requestToken.secret,
    returnTo,
    binding: digest(binding),
    ...(request.codeRequest ? { codeRequest: request.codeRequest } : {}),
    ...(request.state !== undefined ? { state: request.state } : {}),
  };
  await deps.store.put(flowKey(requestToken.token), JSON.stringify(record), deps.config.flowTtl);
  return { location: deps.twitter.authenticateUrl(requestToken.token), binding };
}

/**
 * Throws only while no app is known to send the browser back to (an unknown,
 * expired or replayed flow; a return_to no longer registered). From then on
 * every failure goes back to the app as an OAuth error (RFC 6749 §4.1.2.1).
 */
export async function finishSignIn(deps: SignInDeps, params: CallbackParams, binding: string | undefined, client: ClientInfo): Promise<SignInOutcome> {
  // Taken before anything else, so a callback URL works once whatever happens next.
  const stored = await deps.store.take(flowKey(params.token));
  if (stored === null) throw new AppError('flow_not_found', 'This sign-in is unknown, expired or already used; start again');
  const record = JSON.parse(stored) as FlowRecord;
  // Checked again: the registered URLs may have changed since the flow started.
  const target = checkReturnTo(record.returnTo, deps.config.returnToUrls);
  if (!target.ok) throw new AppError('return_to_not_allowed', target.reason);
  const { codeRequest } = record;
  const state = record.state ?? codeRequest?.state;
  // In the code mode the answer goes in the query (RFC 6749 §4.1.2), in the fragment mode in the fragment; `state` with either.
  const answer = (params: Record<string, string>) => {
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
  if (params.kind === 'denied') {
    return { kind: 'denied', location: answer({ error: 'access_denied', error_description: 'The user did not authorize the app at Twitter' }) };
  }
  try {
    const access = await deps.twitter.accessToken({ token: params.token, secret: record.secret }, params.verifier);
    const profile = await deps.twitter.verifyCredentials(access);
    // Sealed with the current key every time, so a sign-in after a key rotation re-encrypts them.
    const key = deps.encryptionKeys;
    const user = await upsertUser(deps.db, profile, {
      token: encryptSecret(key, access.token, `twitter_token:${profile.twitterId}`),
      secret: encryptSecret(key, access.secret, `twitter_token_secret:${profile.twitterId}`),
    });
    if (codeRequest) {
      const code = await issueCode(deps.store, { userId: user.id, challenge: codeRequest.challenge, redirectUri: target.url }, deps.now());
      return { kind: 'signed-in', location: answer({ code }), tokensIssued: false };
    }
    const { response: tokens } = await openSession(deps, user, client);
    const location = answer({
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      expires_in: String(tokens.expires_in),
      refresh_token: tokens.refresh_token,
    });
    return { kind: 'signed-in', location, tokensIssued: true };
  } catch (error) {
    return fail(error instanceof AppError ? error : new AppError('internal_error', 'Something went wrong on our side', { cause: error }), error);
  }
}

/**
 * The OAuth error code (RFC 6749 §4.1.2.1) an app receives for a failed
 * sign-in: worth a retry shortly, refused at Twitter, or roost's own failure.
 */
export function oauthErrorFor(error: AppError): 'temporarily_unavailable' | 'access_denied' | 'server_error' {
  if (error.status === 503 || error.status === 504 || error.code === 'twitter_unavailable' || error.code === 'rate_limited') return 'temporarily_unavailable';
  if (error.code === 'twitter_rejected_verifier' || error.code === 'flow_browser_mismatch') return 'access_denied';
  return 'server_error';
}

/** Store keys carry a hash of the request token, so tokens never appear in Redis key listings. */
function flowKey(requestToken: string): string {
  return `flow:${digest(requestToken)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
