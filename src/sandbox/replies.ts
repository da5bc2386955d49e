// What both protocols' browser-facing routes send: the consent and error
// pages with their headers, the 302 back to the client, and the small readers
// of the raw form body the provider keeps.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { percentEncode } from './oauth1-signature.js';
import { renderErrorPage } from './pages.js';

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  // form-action must allow the redirect to the client's callback, wherever it is.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // The page URL carries the request token (1.0a) or the PKCE challenge and state (2.0).
  'referrer-policy': 'no-referrer',
} as const;

export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(html);
}

export function sendErrorPage(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  return sendPage(reply, status, renderErrorPage(title, message));
}

export function sendRedirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(302).headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).header('location', location).send();
}

export function isFormEncoded(request: FastifyRequest): boolean {
  const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded';
}

/** The raw form body, as the provider's own parser keeps it; undefined for any other body. */
export function rawFormBody(request: FastifyRequest): string | undefined {
  return isFormEncoded(request) && typeof request.body === 'string' ? request.body : undefined;
}

/** The form's parameters; an empty form for any other body. */
export function formOf(request: FastifyRequest): URLSearchParams {
  return new URLSearchParams(rawFormBody(request) ?? '');
}

/** The one value of a parameter; undefined when it is absent or repeated. */
export function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

/** The raw query string of a request, without `?`. */
export function rawQuery(request: FastifyRequest): string {
  const queryStart = request.url.indexOf('?');
  return queryStart === -1 ? '' : request.url.slice(queryStart + 1);
}

/**
 * Adds parameters to a redirect URI's query (RFC 5849 §2.2, RFC 6749
 * §4.1.2), keeping its existing query byte for byte and any fragment after it.
 * §3.6 encoding is also valid application/x-www-form-urlencoded output.
 */
export function withQuery(callback: string, params: Record<string, string>): string {
  const hash = callback.indexOf('#');
  const beforeHash = hash === -1 ? callback : callback.slice(0, hash);
  const fragment = hash === -1 ? '' : callback.slice(hash);
  const added = Object.entries(params)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
  const separator = !beforeHash.includes('?') ? '?' : /[?&]$/.test(beforeHash) ? '' : '&';
  return `${beforeHash}${separator}${added}${fragment}`;
}
