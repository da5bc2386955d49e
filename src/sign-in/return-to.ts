// The check of every return_to: it must be one of the registered redirect
// URIs (RETURN_TO_URLS, see redirect-uris.ts), character for character.
// Nothing is repaired: the browser goes to exactly the string that matched.
import { loadOpenApi, querystringSchema, type OpenApiDocument } from '../contract/openapi.js';
import { findRedirectUri, type RedirectUri } from './redirect-uris.js';

/**
 * The longest return_to: the `maxLength` of GET /login's `return_to` in
 * openapi.yaml (read once, on the first check), never a number of its own.
 * The routes' schemas enforce it on what arrives; it is checked here again
 * for the callers no schema stands in front of (the callback's second look
 * at a stored return_to).
 */
export function returnToMaxLength(spec: OpenApiDocument): number {
  const returnTo = (querystringSchema(spec, '/login', 'get').properties as Record<string, { maxLength?: unknown }>).return_to;
  const maxLength = returnTo?.maxLength;
  if (typeof maxLength !== 'number') throw new Error('openapi.yaml documents no maxLength for the return_to of GET /login');
  return maxLength;
}

let maxLength: number | undefined;

export type ReturnToCheck =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly reason: string };

export function checkReturnTo(raw: string, registered: readonly RedirectUri[]): ReturnToCheck {
  maxLength ??= returnToMaxLength(loadOpenApi());
  if (longerThan(raw, maxLength)) return refuse(`is longer than ${maxLength} characters`);
  if (raw.length === 0) return refuse('is empty');
  if (raw.includes('#')) return refuse('must not contain a fragment: roost puts its answer there');
  // The match is on the string, but a loopback entry's port is read as a URL's port: it must be one.
  if (!URL.canParse(raw)) return refuse('is not a valid URL');
  if (findRedirectUri(raw, registered) === undefined) {
    return refuse('is not one of the registered redirect URIs (RETURN_TO_URLS); it must match an entry exactly, query included');
  }
  return { ok: true, url: raw };
}

/** Counted in code points, as JSON Schema's maxLength counts (an astral character is one). */
function longerThan(value: string, limit: number): boolean {
  return value.length > limit && [...value].length > limit;
}

function refuse(reason: string): ReturnToCheck {
  return { ok: false, reason: `return_to ${reason}` };
}

/** The URL a browser is sent back to, with roost's answer in the fragment (never in the query, so it stays out of logs and Referer headers). */
export function withFragment(returnTo: string, params: Record<string, string>): string {
  return `${returnTo}#${new URLSearchParams(params).toString()}`;
}

/** Parameters roost adds to return_to's query in the PKCE mode; a return_to that has them already is refused. */
export const CODE_RESPONSE_PARAMS = ['code', 'state', 'error'] as const;

export function hasCodeResponseParams(returnTo: string): boolean {
  const query = new URL(returnTo).searchParams;
  return CODE_RESPONSE_PARAMS.some((name) => query.has(name));
}

/**
 * return_to with roost's answer added to its query (RFC 6749 §4.1.2 "MUST
 * retain" the existing query): the string matched, byte for byte, then the
 * answer. A registered URL never ends in `?` or `&`, nor has a fragment.
 */
export function withQuery(returnTo: string, params: Record<string, string>): string {
  return `${returnTo}${returnTo.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
}
