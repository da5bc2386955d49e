// RP-Initiated Logout 1.0 (§2, §3): a client sends the person to the
// end-session endpoint, naming itself with client_id or with the ID token it
// holds (id_token_hint), and may ask to have the person sent back to a
// post_logout_redirect_uri. roost sends them there only when that URI is
// registered for that client, matched exactly; otherwise it shows a page.
import { findRedirectUri } from '../sign-in/redirect-uris.js';
import { withQuery } from '../sign-in/return-to.js';
import type { ClientStore, OidcClient } from './clients.js';
import { STATE_MAX_LENGTH, isVsChars, readParam, type RawParams } from './request-params.js';

export interface LogoutParams {
  readonly idTokenHint?: string;
  readonly clientId?: string;
  readonly postLogoutRedirectUri?: string;
  readonly state?: string;
}

/** The request's parameters, each once (GET query or POST form, §2); logout_hint and ui_locales are ignored. */
export function readLogoutParams(params: RawParams): { readonly ok: true; readonly value: LogoutParams } | { readonly ok: false; readonly reason: string } {
  const value: Record<string, string> = {};
  for (const [name, key] of [
    ['id_token_hint', 'idTokenHint'],
    ['client_id', 'clientId'],
    ['post_logout_redirect_uri', 'postLogoutRedirectUri'],
    ['state', 'state'],
  ] as const) {
    const param = readParam(params, name);
    if (param.kind === 'repeated') return { ok: false, reason: `${name} is given more than once` };
    if (param.kind === 'given') value[key] = param.value;
  }
  if (value.state !== undefined && !isVsChars(value.state, STATE_MAX_LENGTH)) return { ok: false, reason: `state must be 1 to ${STATE_MAX_LENGTH} printable ASCII characters` };
  return { ok: true, value };
}

/**
 * The claims of an id_token_hint whose signature and issuer the caller
 * checked against roost's own keys. Its exp is not held against it: a
 * client often asks to log out after the ID token expired (§2 lets the OP
 * accept it).
 */
export interface IdTokenHintClaims {
  readonly aud: string | readonly string[];
  readonly azp?: string;
  readonly sub: string;
  readonly sid?: string;
}

export type LogoutCheck =
  | { readonly kind: 'page-error'; readonly reason: string }
  | {
      readonly kind: 'accepted';
      /** The client the request names, when it names one. */
      readonly client?: OidcClient;
      /** Where to send the browser afterwards (state added); otherwise show the signed-out page. */
      readonly redirectTo?: string;
      /** The session the id_token_hint was issued in. Without a hint, no session is named. */
      readonly endSession?: { readonly sub: string; readonly sid?: string };
    };

/**
 * `hint`: the id_token_hint's verified claims, or undefined when the request
 * has a hint that did not verify (or has none).
 */
export function checkLogoutRequest(request: LogoutParams, hint: IdTokenHintClaims | undefined, clients: ClientStore): LogoutCheck {
  if (request.idTokenHint !== undefined && hint === undefined) return page('id_token_hint is not an ID token roost issued');
  const claims = request.idTokenHint !== undefined ? hint : undefined;

  let clientId = request.clientId;
  if (claims !== undefined) {
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
    // §2: when both are given, client_id must be the client the ID token was issued to.
    if (clientId !== undefined && !audiences.includes(clientId)) return page('client_id is not the audience of id_token_hint');
    clientId ??= claims.azp ?? (audiences.length === 1 ? audiences[0] : undefined);
  }
  const client = clientId === undefined ? undefined : clients.find(clientId);
  if (clientId !== undefined && client === undefined) return page('the client is not registered');

  const endSession = claims === undefined ? {} : { endSession: { sub: claims.sub, ...(claims.sid !== undefined ? { sid: claims.sid } : {}) } };
  if (request.postLogoutRedirectUri === undefined) return { kind: 'accepted', ...(client !== undefined ? { client } : {}), ...endSession };

  // §3: without a client to look it up in, the URI cannot be checked, so it is not followed.
  if (client === undefined) return page('post_logout_redirect_uri needs client_id or id_token_hint to name the client');
  const uri = request.postLogoutRedirectUri;
  if (!URL.canParse(uri) || findRedirectUri(uri, client.postLogoutRedirectUris) === undefined) {
    return page('post_logout_redirect_uri is not registered for this client; it must match one exactly');
  }
  return {
    kind: 'accepted',
    client,
    redirectTo: request.state === undefined ? uri : withQuery(uri, { state: request.state }),
    ...endSession,
  };
}

function page(reason: string): LogoutCheck {
  return { kind: 'page-error', reason };
}
