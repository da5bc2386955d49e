// The OpenID Connect clients roost signs people in for. The operator lists
// them in OIDC_CLIENTS (inline JSON) or OIDC_CLIENTS_FILE (JSON or YAML), in
// the spirit of Dex's staticClients; every entry is checked at start and a
// bad one stops the process with a message that names the client, the field
// and the fix. Lookups go through ClientStore, so clients added at run time
// (an admin API) can sit behind the same interface later.
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import type { SigningAlg } from '../keys/signing-keys.js';
import { parseRedirectUri, type RedirectUri } from '../sign-in/redirect-uris.js';

/** RFC 6749 §2.3.1 (Basic, or the secret in the form body) and `none` for public clients (RFC 7591 §2). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/**
 * The ID token algorithms a client may ask for. RS256 is the default: OIDC
 * Core §15.1 makes it mandatory to implement, and OIDC Registration §2 makes
 * it the default `id_token_signed_response_alg`, so a client that names none
 * expects it.
 */
export const ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'] as const satisfies readonly SigningAlg[];
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];
export const DEFAULT_ID_TOKEN_ALG: IdTokenAlg = 'RS256';

export interface OidcClient {
  readonly clientId: string;
  /** What a person is shown; the client_id when the entry names none. */
  readonly name: string;
  /** RFC 6749 §2.1: a public client has no secret and must use PKCE. */
  readonly type: 'confidential' | 'public';
  /** SHA-256 of client_secret, null for a public client: the secret itself is not kept. */
  readonly secretDigest: Buffer | null;
  /** How it may authenticate at the token endpoint: exactly one of these. */
  readonly authMethods: readonly TokenEndpointAuthMethod[];
  readonly redirectUris: readonly RedirectUri[];
  readonly postLogoutRedirectUris: readonly RedirectUri[];
  readonly idTokenAlg: IdTokenAlg;
}

/** Where the endpoints look a client up. Backed by the configured list now; an admin API can add another. */
export interface ClientStore {
  find(clientId: string): OidcClient | undefined;
}

export function staticClientStore(clients: readonly OidcClient[]): ClientStore {
  const byId = new Map(clients.map((client) => [client.clientId, client]));
  if (byId.size !== clients.length) throw new Error('every client_id in a client store must be unique');
  return { find: (clientId) => byId.get(clientId) };
}

export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export type ClientsSource = 'OIDC_CLIENTS' | 'OIDC_CLIENTS_FILE';

export type ParsedClients =
  | { readonly ok: true; readonly clients: readonly OidcClient[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** The whole list: every problem of every entry, each prefixed with the source and the client it is about. */
export function parseOidcClients(text: string, source: ClientsSource, format: 'json' | 'yaml'): ParsedClients {
  const read = readDocument(text, source, format);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  const list = read.value;
  if (!Array.isArray(list)) {
    return { ok: false, problems: [`${source} must be a list of clients at its top level, such as [{"client_id": "my-app", "client_secret": "…", "redirect_uris": ["https://app.example.com/callback"]}]`] };
  }
  if (list.length === 0) return { ok: false, problems: [`${source} lists no clients: add one, or unset ${source}`] };
  const problems: string[] = [];
  const clients: OidcClient[] = [];
  const firstIndexOf = new Map<string, number>();
  list.forEach((entry: unknown, index) => {
    const label = `${source} client ${index + 1} (${describeClientId(entry)})`;
    const checked = checkClientEntry(entry);
    problems.push(...checked.problems.map((problem) => `${label}: ${problem}`));
    // Told whether or not either entry has other problems: fixing one should not reveal another.
    const clientId = isRecord(entry) && typeof entry.client_id === 'string' && CLIENT_ID.test(entry.client_id) ? entry.client_id : undefined;
    if (clientId === undefined) return;
    const first = firstIndexOf.get(clientId);
    if (first !== undefined) {
      problems.push(`${label}: client_id is already used by client ${first + 1}: each client_id must be unique`);
      return;
    }
    firstIndexOf.set(clientId, index);
    if (checked.client !== undefined) clients.push(checked.client);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, clients: Object.freeze(clients) };
}

const FIELDS = ['client_id', 'client_secret', 'redirect_uris', 'post_logout_redirect_uris', 'name', 'id_token_signed_response_alg', 'token_endpoint_auth_method'];

/** What Dex and other providers call a field, and what to write here instead. */
const INSTEAD = new Map([
  ['id', 'write client_id'],
  ['clientId', 'write client_id'],
  ['secret', 'write client_secret'],
  ['clientSecret', 'write client_secret'],
  ['redirectURIs', 'write redirect_uris'],
  ['redirectUris', 'write redirect_uris'],
  ['redirect_uri', 'write redirect_uris (a list)'],
  ['post_logout_redirect_uri', 'write post_logout_redirect_uris (a list)'],
  ['public', 'a client without client_secret is public: leave out both'],
]);

/**
 * A client_id is used unencoded in URLs, Basic credentials and logs: 1 to
 * 128 of RFC 3986's unreserved characters, which no encoding changes.
 */
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;
const CLIENT_SECRET_MIN_LENGTH = 32;
const CLIENT_SECRET_MAX_LENGTH = 512;
const NAME_MAX_LENGTH = 200;
/** What roost adds to a redirect URI's query (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207): a registered one must not carry them. */
const AUTHORIZATION_RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'];
/** What roost adds to a post-logout redirect URI (RP-Initiated Logout 1.0 §3). */
const LOGOUT_RESPONSE_PARAMS = ['state'];

/** One entry, checked field by field; `client` only when there is no problem. */
export function checkClientEntry(entry: unknown): { readonly client?: OidcClient; readonly problems: readonly string[] } {
  if (!isRecord(entry)) return { problems: ['must be an object with client_id and redirect_uris'] };
  const problems: string[] = [];
  for (const key of Object.keys(entry)) {
    if (FIELDS.includes(key)) continue;
    problems.push(`unknown field ${JSON.stringify(key)}: ${INSTEAD.get(key) ?? `the fields are ${FIELDS.join(', ')}`}`);
  }

  const clientId = entry.client_id;
  if (!Object.hasOwn(entry, 'client_id')) problems.push('client_id is required');
  else if (typeof clientId !== 'string') problems.push(`client_id must be a string${quoteHint(clientId)}`);
  else if (!CLIENT_ID.test(clientId)) problems.push('client_id must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');

  const secretGiven = Object.hasOwn(entry, 'client_secret');
  const secret = entry.client_secret;
  // Never quoted back, in any problem: the value is a credential.
  if (secretGiven) {
    if (typeof secret !== 'string') problems.push(`client_secret must be a string${quoteHint(secret)}; leave the field out for a public client`);
    else if (secret.length < CLIENT_SECRET_MIN_LENGTH || secret.length > CLIENT_SECRET_MAX_LENGTH || !/^[\x21-\x7e]+$/.test(secret)) {
      problems.push(
        `client_secret must be ${CLIENT_SECRET_MIN_LENGTH} to ${CLIENT_SECRET_MAX_LENGTH} visible ASCII characters with no spaces (make one with: openssl rand -hex 32); leave the field out for a public client`,
      );
    }
  }

  const redirectUris = checkUris(entry, 'redirect_uris', AUTHORIZATION_RESPONSE_PARAMS, problems);
  const postLogoutRedirectUris = checkUris(entry, 'post_logout_redirect_uris', LOGOUT_RESPONSE_PARAMS, problems);

  const name = entry.name;
  if (Object.hasOwn(entry, 'name')) {
    if (typeof name !== 'string') problems.push(`name must be a string${quoteHint(name)}`);
    else if (name.trim() === '' || name.length > NAME_MAX_LENGTH || /[\u0000-\u001f\u007f-\u009f]/u.test(name)) {
      problems.push(`name must be 1 to ${NAME_MAX_LENGTH} characters without control characters`);
    }
  }

  const alg = entry.id_token_signed_response_alg;
  if (Object.hasOwn(entry, 'id_token_signed_response_alg') && !(typeof alg === 'string' && isIdTokenAlg(alg))) {
    problems.push(`id_token_signed_response_alg must be one of ${ID_TOKEN_ALGS.join(', ')} (got ${JSON.stringify(alg)}); leave it out for ${DEFAULT_ID_TOKEN_ALG}`);
  }

  const method = entry.token_endpoint_auth_method;
  const methodGiven = Object.hasOwn(entry, 'token_endpoint_auth_method');
  if (methodGiven && !(typeof method === 'string' && isAuthMethod(method))) {
    problems.push(`token_endpoint_auth_method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')} (got ${JSON.stringify(method)})`);
  } else if (method === 'none' && secretGiven) {
    problems.push('token_endpoint_auth_method is none but client_secret is set: leave out client_secret for a public client (it must use PKCE), or choose client_secret_basic or client_secret_post');
  } else if ((method === 'client_secret_basic' || method === 'client_secret_post') && !secretGiven) {
    problems.push(`token_endpoint_auth_method is ${method} but there is no client_secret: add one (at least ${CLIENT_SECRET_MIN_LENGTH} characters), or choose none for a public client`);
  }

  if (problems.length > 0) return { problems };
  const confidential = typeof secret === 'string';
  const client: OidcClient = {
    clientId: clientId as string,
    name: typeof name === 'string' ? name : (clientId as string),
    type: confidential ? 'confidential' : 'public',
    secretDigest: confidential ? digestSecret(secret) : null,
    authMethods: Object.freeze(
      !confidential ? ['none' as const] : isAuthMethod(method) ? [method] : ['client_secret_basic' as const, 'client_secret_post' as const],
    ),
    redirectUris,
    postLogoutRedirectUris,
    idTokenAlg: typeof alg === 'string' && isIdTokenAlg(alg) ? alg : DEFAULT_ID_TOKEN_ALG,
  };
  return { client: Object.freeze(client), problems };
}

/**
 * A list of redirect URIs, each matched exactly later (RFC 9700 §4.1.3):
 * https, or http on a loopback host only (RFC 8252 §7.3, where any port
 * matches); no credentials, no fragment (RFC 6749 §3.1.2), and none of the
 * parameters roost adds to the query.
 */
function checkUris(entry: Record<string, unknown>, field: 'redirect_uris' | 'post_logout_redirect_uris', reserved: readonly string[], problems: string[]): readonly RedirectUri[] {
  const required = field === 'redirect_uris';
  if (!Object.hasOwn(entry, field)) {
    if (required) problems.push('redirect_uris is required: the exact URLs of the app that receive the sign-in, such as ["https://app.example.com/callback"]');
    return [];
  }
  const value = entry[field];
  if (!Array.isArray(value)) {
    problems.push(`${field} must be a list of URLs${typeof value === 'string' ? `, such as [${JSON.stringify(value)}]` : ''}`);
    return [];
  }
  if (required && value.length === 0) problems.push('redirect_uris must list at least one URL');
  const uris: RedirectUri[] = [];
  value.forEach((raw: unknown, index) => {
    const at = `${field} entry ${index + 1}`;
    if (typeof raw !== 'string') {
      problems.push(`${at} must be a string`);
      return;
    }
    const quoted = `${at} ${JSON.stringify(raw)}`;
    if (raw.includes('#')) {
      problems.push(`${quoted} must not contain a fragment (RFC 6749 §3.1.2)`);
      return;
    }
    const parsed = parseRedirectUri(raw);
    if (!parsed.ok) {
      problems.push(`${quoted} ${parsed.reason}`);
      return;
    }
    const { uri } = parsed;
    if (!uri.href.startsWith('https:') && !uri.loopback) {
      problems.push(`${quoted} must use https; plain http is allowed only for localhost, 127.0.0.1 and [::1] (RFC 8252 §7.3)`);
      return;
    }
    const carried = reserved.filter((name) => new URL(uri.href).searchParams.has(name));
    if (carried.length > 0) {
      problems.push(`${quoted} must not carry ${carried.join(', ')} in its query: roost adds ${carried.length === 1 ? 'it' : 'them'}`);
      return;
    }
    if (uris.some((seen) => seen.written === raw)) {
      problems.push(`${quoted} is listed twice`);
      return;
    }
    uris.push(uri);
  });
  return Object.freeze(uris);
}

/** Why a document was not read is told by position only: parsers quote the text, and the text holds client secrets. */
const TEXT_NOT_SHOWN = 'the text is not repeated here, as it may hold client secrets';

function readDocument(text: string, source: ClientsSource, format: 'json' | 'yaml'): { ok: true; value: unknown } | { ok: false; problem: string } {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return { ok: false, problem: `${source} is empty: list the clients, or unset ${source}` };
  if (format === 'json') {
    try {
      return { ok: true, value: JSON.parse(body) };
    } catch (error) {
      const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
      const where = position === undefined ? '' : ` at ${lineAndColumn(body, Number(position))}`;
      return { ok: false, problem: `${source} is not valid JSON${where}; ${TEXT_NOT_SHOWN}` };
    }
  }
  const document = parseDocument(body, { uniqueKeys: true, strict: true });
  const [first] = document.errors;
  if (first !== undefined) {
    const at = first.linePos?.[0];
    const where = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
    return { ok: false, problem: `${source} is not valid YAML (${first.code}${where}); ${TEXT_NOT_SHOWN}` };
  }
  try {
    return { ok: true, value: document.toJS() };
  } catch {
    // toJS refuses a document whose aliases expand past its limit (a "billion laughs").
    return { ok: false, problem: `${source} is not valid YAML (its aliases expand too far)` };
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function describeClientId(entry: unknown): string {
  const id = isRecord(entry) ? entry.client_id : undefined;
  if (typeof id !== 'string' || id === '') return 'no client_id';
  return `client_id ${JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id)}`;
}

/** YAML reads an unquoted 1234 or true as a number or a boolean, which is a common way to get here. */
function quoteHint(value: unknown): string {
  if (value === null) return ' (got null)';
  if (typeof value === 'number' || typeof value === 'boolean') return ` (got a ${typeof value}: quote it)`;
  return ` (got ${Array.isArray(value) ? 'a list' : typeof value})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isIdTokenAlg(value: string): value is IdTokenAlg {
  return (ID_TOKEN_ALGS as readonly string[]).includes(value);
}

function isAuthMethod(value: unknown): value is TokenEndpointAuthMethod {
  return typeof value === 'string' && (TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(value);
}
