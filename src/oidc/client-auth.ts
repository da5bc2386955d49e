// Client authentication at the token endpoint (RFC 6749 §2.3.1, §3.2.1):
// HTTP Basic with the form-urlencoded client_id and client_secret
// (client_secret_basic), the two in the form body (client_secret_post), or
// client_id alone for a public client (none). One method per request, and
// only the one the client is registered for.
import { timingSafeEqual } from 'node:crypto';
import { digestSecret, type ClientStore, type OidcClient, type TokenEndpointAuthMethod } from './clients.js';

export interface ClientCredentials {
  /** The Authorization header as received. */
  readonly authorization: string | undefined;
  /** client_id and client_secret of the form body, decoded; empty counts as absent (RFC 6749 §3.1). */
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

export type ClientAuthentication =
  | { readonly ok: true; readonly client: OidcClient; readonly method: TokenEndpointAuthMethod }
  | {
      readonly ok: false;
      /**
       * RFC 6749 §5.2: invalid_request for a request that uses two methods at
       * once or names two clients; invalid_client for everything else (no
       * authentication, an unknown client, a wrong secret, another method).
       */
      readonly error: 'invalid_client' | 'invalid_request';
      readonly description: string;
      /**
       * §5.2: a client that tried the Authorization header MUST get 401 with
       * `WWW-Authenticate: Basic` (the scheme it used, the only one roost
       * takes). The others get 400: §5.2 makes 401 optional for them, and a
       * 401 always carries a challenge (RFC 9110 §15.5.2).
       */
      readonly basicChallenge: boolean;
    };

export function authenticateClient(credentials: ClientCredentials, clients: ClientStore): ClientAuthentication {
  const bodyId = presentOrUndefined(credentials.clientId);
  const bodySecret = presentOrUndefined(credentials.clientSecret);

  if (credentials.authorization !== undefined) {
    const basic = parseBasicCredentials(credentials.authorization);
    if (!basic.ok) return fail('invalid_client', basic.reason, true);
    // §2.3: "MUST NOT use more than one authentication method in each request".
    if (bodySecret !== undefined) return fail('invalid_request', 'the client authenticated twice: with the Authorization header and with client_secret in the body', false);
    if (bodyId !== undefined && bodyId !== basic.clientId) return fail('invalid_request', 'client_id in the body names another client than the Authorization header', false);
    return checkSecret(clients.find(basic.clientId), 'client_secret_basic', basic.clientSecret, true);
  }
  if (bodyId === undefined) {
    return fail('invalid_client', bodySecret === undefined ? 'client authentication is required: HTTP Basic, or client_id (and client_secret) in the body' : 'client_secret needs client_id', false);
  }
  const client = clients.find(bodyId);
  if (bodySecret !== undefined) return checkSecret(client, 'client_secret_post', bodySecret, false);
  if (client === undefined) return fail('invalid_client', 'unknown client', false);
  if (!client.authMethods.includes('none')) return fail('invalid_client', `this client must authenticate with ${client.authMethods.join(' or ')}`, false);
  return { ok: true, client, method: 'none' };
}

function checkSecret(client: OidcClient | undefined, method: 'client_secret_basic' | 'client_secret_post', secret: string, challenge: boolean): ClientAuthentication {
  if (client === undefined) return fail('invalid_client', 'unknown client', challenge);
  if (client.secretDigest === null) return fail('invalid_client', 'a public client sends client_id alone, without a secret', challenge);
  if (!client.authMethods.includes(method)) return fail('invalid_client', `this client must authenticate with ${client.authMethods.join(' or ')}`, challenge);
  // Digests of equal length, so neither the comparison's time nor its early
  // exit tells anything about the secret's length or its first characters.
  if (!timingSafeEqual(digestSecret(secret), client.secretDigest)) return fail('invalid_client', 'the client secret is wrong', challenge);
  return { ok: true, client, method };
}

type BasicCredentials = { readonly ok: true; readonly clientId: string; readonly clientSecret: string } | { readonly ok: false; readonly reason: string };

/**
 * RFC 7617 Basic, whose user-id and password are, for a client, its
 * client_id and client_secret each encoded with
 * application/x-www-form-urlencoded first (RFC 6749 §2.3.1).
 */
export function parseBasicCredentials(header: string): BasicCredentials {
  // RFC 7235 §2.1: the scheme is case-insensitive; one token68 follows.
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (match === null) {
    return { ok: false, reason: /^basic(?: |$)/i.test(header) ? 'the Basic credentials are not base64' : 'the Authorization header must use the Basic scheme' };
  }
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(match[1]!, 'base64'));
  } catch {
    return { ok: false, reason: 'the Basic credentials are not UTF-8' };
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return { ok: false, reason: 'the Basic credentials have no colon between client_id and client_secret' };
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || clientSecret === undefined) return { ok: false, reason: 'the Basic credentials are not form-urlencoded' };
  if (clientId === '') return { ok: false, reason: 'the Basic credentials have an empty client_id' };
  if (clientSecret === '') return { ok: false, reason: 'the Basic credentials have an empty client_secret' };
  return { ok: true, clientId, clientSecret };
}

/** application/x-www-form-urlencoded decoding of one value: `+` is a space; undefined when a percent escape is broken. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function presentOrUndefined(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function fail(error: 'invalid_client' | 'invalid_request', description: string, basicChallenge: boolean): ClientAuthentication {
  return { ok: false, error, description, basicChallenge };
}
