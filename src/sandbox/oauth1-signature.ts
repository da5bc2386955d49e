// OAuth 1.0a signatures (RFC 5849 §3.4–§3.6), written independently of the
// oauth-1.0a package that roost's client signs with: the sandbox verifies what
// the client sends, so sharing code would let one bug hide itself on both sides.
// Pure functions only; the sandbox provider supplies the request parts.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A request parameter as a decoded name/value pair. Order and repeats matter (RFC 5849 §3.4.1.3). */
export type Param = readonly [name: string, value: string];

export type ParsedAuthorization =
  | { readonly ok: true; readonly params: Readonly<Record<string, string>>; readonly realm: string | undefined }
  | { readonly ok: false; readonly reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 5849 §3.6: UTF-8 encode, then escape every octet outside the unreserved
 * set as %XX with uppercase hex. Stricter than encodeURIComponent, which leaves
 * `!*'()` alone.
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// §3.6 output: unreserved characters and %XX triplets only.
const ENCODED = /^(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The inverse of percentEncode; undefined when the text is not §3.6 output or not UTF-8. */
export function percentDecode(value: string): string | undefined {
  if (!ENCODED.test(value)) return undefined;
  try {
    return utf8.decode(Buffer.from(value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1'));
  } catch {
    return undefined;
  }
}

// One `name="value"` pair of the §3.5.1 header, then a comma or the end.
const HEADER_PARAM = /^[ \t]*([A-Za-z0-9\-._~%]+)[ \t]*=[ \t]*"([^"\\]*)"[ \t]*(?:,|$)/;

/**
 * Parses an `Authorization: OAuth …` header (RFC 5849 §3.5.1). Names and
 * values are §3.6-encoded and are decoded here. `realm` is kept apart because
 * it is not signed (§3.4.1.3.1); any other non-oauth_ parameter, a repeated
 * parameter, or anything off the grammar is a failure.
 */
export function parseAuthorizationHeader(header: string): ParsedAuthorization {
  // The auth-scheme is case-insensitive (RFC 7235 §2.1).
  const scheme = /^[ \t]*OAuth(?:[ \t]+|$)/i.exec(header);
  if (!scheme) return { ok: false, reason: 'the scheme is not OAuth' };
  let rest = header.slice(scheme[0].length);
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  let realm: string | undefined;
  let seenRealm = false;
  let count = 0;
  while (rest.trim() !== '' || count === 0) {
    const match = HEADER_PARAM.exec(rest);
    if (!match) return { ok: false, reason: 'the header is malformed' };
    // Both groups are mandatory in HEADER_PARAM, so a match always has them.
    const [whole, rawName, value] = match as unknown as [string, string, string];
    rest = rest.slice(whole.length);
    count += 1;
    const name = percentDecode(rawName);
    if (name === 'realm') {
      // The realm is an RFC 2617 quoted string, not a §3.6-encoded value.
      if (seenRealm) return { ok: false, reason: 'realm is repeated' };
      seenRealm = true;
      realm = value;
      continue;
    }
    if (name === undefined || !name.startsWith('oauth_')) return { ok: false, reason: 'a parameter is not an oauth_ parameter' };
    if (Object.hasOwn(params, name)) return { ok: false, reason: `${name} is repeated` };
    const decoded = percentDecode(value);
    if (decoded === undefined) return { ok: false, reason: `${name} is not percent-encoded` };
    params[name] = decoded;
  }
  // A trailing comma leaves an empty element, which the grammar does not allow.
  if (/,[ \t]*$/.test(header)) return { ok: false, reason: 'the header ends with a comma' };
  return { ok: true, params, realm };
}

/** Parses a query string or form body the way §3.4.1.3.1 asks (application/x-www-form-urlencoded). */
export function parseFormEncoded(text: string): Param[] {
  return [...new URLSearchParams(text)];
}

/**
 * The base string URI (RFC 5849 §3.4.1.2): lowercase scheme and host, the port
 * only when it is not the scheme's default, the path, no query or fragment.
 * Throws a TypeError when `url` is not an absolute URL.
 */
export function baseStringUri(url: string): string {
  // WHATWG URL parsing lowercases scheme and host and drops default ports.
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** §3.4.1.3.2: encode every name and value, sort by name then value, join with & and =. */
export function normalizeParameters(params: readonly Param[]): string {
  return params
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => compare(an, bn) || compare(av, bv))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

// Encoded strings are ASCII, so code-unit order is the byte order §3.4.1.3.2 asks for.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The signature base string (§3.4.1.1): METHOD & encoded base URI & encoded
 * normalized parameters. `params` holds every signed parameter: query, form
 * body, and the protocol parameters except oauth_signature and realm.
 */
export function signatureBaseString(method: string, baseUrl: string, params: readonly Param[]): string {
  return [method.toUpperCase(), percentEncode(baseStringUri(baseUrl)), percentEncode(normalizeParameters(params))].join('&');
}

/** HMAC-SHA1 (§3.4.2): the key is both secrets encoded and joined by &, even when the token secret is empty. */
export function hmacSha1Signature(baseString: string, consumerSecret: string, tokenSecret: string): string {
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  return createHmac('sha1', key).update(baseString, 'utf8').digest('base64');
}

export interface SignedRequest {
  readonly method: string;
  /** The absolute URL the client signed; any query in it is ignored (pass query params in `params`). */
  readonly baseUrl: string;
  /** Every signed parameter; see signatureBaseString. */
  readonly params: readonly Param[];
  /** The decoded oauth_signature the client sent. */
  readonly signature: string;
  readonly consumerSecret: string;
  readonly tokenSecret: string;
}

/** Recomputes the HMAC-SHA1 signature (§3.4.2) and compares in constant time. */
export function verifyRequestSignature(request: SignedRequest): boolean {
  const expected = Buffer.from(
    hmacSha1Signature(signatureBaseString(request.method, request.baseUrl, request.params), request.consumerSecret, request.tokenSecret),
    'utf8',
  );
  const actual = Buffer.from(request.signature, 'utf8');
  // The length of a signature is public (always 28 base64 characters), so this early exit leaks nothing.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
