// The allowlist check for every URL roost redirects a browser to.
// Exact origin match after WHATWG URL parsing; anything odd is refused
// rather than repaired, because a repaired URL is one an attacker shaped.
import { domainToUnicode } from 'node:url';
import { loadOpenApi, querystringSchema, type OpenApiDocument } from '../contract/openapi.js';

/**
 * The longest return_to: the `maxLength` of GET /login's `return_to` in
 * openapi.yaml (read once, on the first check), never a number of its own.
 * The routes' schemas enforce it on what arrives; it is checked here again
 * for the callers no schema stands in front of (the redirect guard, the
 * callback's second look at a stored return_to).
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

export function checkReturnTo(raw: string, allowedOrigins: readonly string[]): ReturnToCheck {
  maxLength ??= returnToMaxLength(loadOpenApi());
  if (longerThan(raw, maxLength)) return refuse(`is longer than ${maxLength} characters`);
  const checked = checkRedirectTarget(raw, allowedOrigins);
  // Parsing may lengthen it (`http://app.test?x` becomes `http://app.test/?x`):
  // what is stored and sent back must fit as well, or the callback would refuse it.
  if (checked.ok && longerThan(checked.url, maxLength)) return refuse(`is longer than ${maxLength} characters once normalized`);
  return checked;
}

/**
 * checkReturnTo without the length limit, for the redirect guard: roost's
 * own answer (a code and state in the query) lengthens a return_to that fitted.
 */
export function checkRedirectTarget(raw: string, allowedOrigins: readonly string[]): ReturnToCheck {
  if (raw.length === 0) return refuse('is empty');
  // Whitespace, control characters and backslashes are silently stripped or
  // rewritten by URL parsers, so browsers and this check could disagree.
  if (/[\u0000-\u0020\u007f-\u00a0\\\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/u.test(raw)) {
    return refuse('contains whitespace, control characters or backslashes');
  }
  if (!/^https?:\/\/[^/]/i.test(raw)) return refuse('must be an absolute http or https URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('must use http or https');
  const authority = /^https?:\/\/([^/?#]*)/i.exec(raw)?.[1] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) return refuse('must not contain credentials');
  // A percent-encoded host is decoded by the parser: refuse it rather than guess what was meant.
  if (authority.includes('%')) return refuse('must not percent-encode the host');
  // IDN hosts are fine, but look-alikes the parser folds into other
  // characters (fullwidth letters, ideographic full stops) are not.
  const writtenHost = authority.replace(/:\d*$/, '');
  if (/[^\x00-\x7f]/.test(writtenHost) && domainToUnicode(url.hostname) !== writtenHost.toLowerCase()) {
    return refuse('host uses characters that stand in for other characters');
  }
  // roost appends its answer as the fragment.
  if (raw.includes('#')) return refuse('must not contain a fragment');
  if (!allowedOrigins.includes(url.origin)) return refuse(`origin ${url.origin} is not in RETURN_TO_ORIGINS`);
  return { ok: true, url: url.href };
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
 * retain" the existing query): what is there stays byte for byte.
 */
export function withQuery(returnTo: string, params: Record<string, string>): string {
  const url = new URL(returnTo);
  const added = new URLSearchParams(params).toString();
  const existing = url.search.replace(/^\?/, '').replace(/&+$/, '');
  url.search = existing === '' ? added : `${existing}&${added}`;
  return url.href;
}
