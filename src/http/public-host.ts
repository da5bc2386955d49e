// roost answers on whatever name reaches it (localhost, 127.0.0.1, a LAN
// address), but Twitter returns the browser to PUBLIC_URL only, and cookies
// belong to one host name. A browser page that starts a sign-in is first sent
// to the same path on PUBLIC_URL, so what it sets is there when it comes back.
import type { FastifyRequest } from 'fastify';

/**
 * Where to send a request that arrived under another host name; undefined
 * when it arrived under PUBLIC_URL's (in Host, or in X-Forwarded-Host from a
 * proxy that rewrites Host: believing that header costs nothing here, it can
 * only keep a request where it is, and it keeps such a proxy out of a loop).
 */
export function publicHostRedirector(publicUrl: string): (request: FastifyRequest) => string | undefined {
  const publicHost = new URL(publicUrl).host;
  const isPublic = (value: string | string[] | undefined) => typeof value === 'string' && value.split(',')[0]?.trim().toLowerCase() === publicHost;
  return (request) => {
    const { host } = request.headers;
    if (host === undefined || host === '' || isPublic(host) || isPublic(request.headers['x-forwarded-host'])) return undefined;
    return `${publicUrl}${request.url}`;
  };
}
