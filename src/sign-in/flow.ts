// The sign-in flow (docs/flow.md): start hands the browser to
// Twitter; finish takes the stored flow once, checks the browser, finishes
// the OAuth dance, stores the profile, and either opens a session and puts
// its tokens in the fragment, or (PKCE mode) puts a one-time code in the query.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { issueCode } from './auth-codes.js';
import { encryptSecret, type EncryptionKeys } from '../keys/crypto-box.js';
import type { Db } from '../store/db.js';
import { AppError } from '../errors.js';
import type { FlowStore } from './flow-store.js';
import { openSession, type ClientInfo, type GrantDeps } from '../sessions/grants.js';
import type { CallbackParams, CodeRequest } from './login-params.js';
import { checkReturnTo, withFragment, withQuery } from './return-to.js';
import type { TwitterClient } from '../twitter/client.js';
import { upsertUser } from '../users/profiles.js';

export interface SignInDeps extends GrantDeps {
  readonly config: GrantDeps['config'] & Pick<Config, 'callbackUrl' | 'flowTtl' | 'returnToOrigins'>;
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
  /** PKCE mode (RFC 7636): the app's S256 challenge and its opaque state. */
  readonly codeRequest?: CodeRequest;
}

export interface StartedSignIn {
  readonly location: string;
  /** Goes into the browser's HttpOnly cookie. */
  readonly binding: string;
}

export async function startSignIn(deps: SignInDeps, returnTo: string, codeRequest?: CodeRequest): Promise<StartedSignIn> {
  const binding = randomBytes(32).toString('base64url');
  const request = await deps.twitter.requestToken(deps.config.callbackUrl);
  const record: FlowRecord = { secret: request.secret, returnTo, binding: digest(binding), ...(codeRequest ? { codeRequest } : {}) };
  await deps.store.put(flowKey(request.token), JSON.stringify(record), deps.config.flowTtl);
  return { location: deps.twitter.authenticateUrl(request.token), binding };
}

export async function finishSignIn(deps: SignInDeps, params: CallbackParams, binding: string | undefined, client: ClientInfo): Promise<string> {
  // Taken before anything else, so a callback URL works once whatever happens next.
  const stored = await deps.store.take(flowKey(params.token));
  if (stored === null) throw new AppError('flow_not_found', 'This sign-in is unknown, expired or already used; start again');
  const record = JSON.parse(stored) as FlowRecord;
  if (binding === undefined || !sameDigest(digest(binding), record.binding)) {
    throw new AppError('flow_browser_mismatch', 'This sign-in was started in another browser or tab; start again here');
  }
  // Checked again: the allowlist may have shrunk since the flow started.
  const target = checkReturnTo(record.returnTo, deps.config.returnToOrigins);
  if (!target.ok) throw new AppError('return_to_not_allowed', target.reason);
  const { codeRequest } = record;
  const state: Record<string, string> = codeRequest?.state !== undefined ? { state: codeRequest.state } : {};
  if (params.kind === 'denied') {
    // RFC 6749 §4.1.2.1 in PKCE mode: the error goes in the query, with the state.
    return codeRequest ? withQuery(target.url, { error: 'access_denied', ...state }) : withFragment(target.url, { error: 'access_denied' });
  }

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
    return withQuery(target.url, { code, ...state });
  }
  const { response: tokens } = await openSession(deps, user, client);
  return withFragment(target.url, {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    expires_in: String(tokens.expires_in),
    refresh_token: tokens.refresh_token,
  });
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
