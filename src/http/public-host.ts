// roost answers on whatever name reaches it (localhost, 127.0.0.1, a LAN
// address), but Twitter returns the browser to PUBLIC_URL only, and cookies
// belong to one host name. A browser page that starts a sign-in is first sent
// to the same path on PUBLIC_URL, so what it sets is there when it comes back.
import type { FastifyRequest } from 'fastify';

// Headers a proxy adds. Behind one, the Host roost sees may be the proxy's own
// name for it, so a move would send the browser back through the same proxy to
// the same Host, again and again: through a proxy, nothing moves.
const PROXY_HEADERS = ['x-forwarded-host', 'x-forwarded-for', 'x-forwarded-proto', 'forwarded', 'via'];

/**
 * Where to send a browser that reached roost directly under another host
 * name than PUBLIC_URL's; undefined when it arrived under PUBLIC_URL's, came
 * through a proxy (a proxy header, or an https PUBLIC_URL reached over plain
 * http: TLS ends in front of roost), or named no host at all.
 */
export function publicHostRedirector(publicUrl: string): (request: FastifyRequest) => string | undefined {
  const { host: publicHost, protocol } = new URL(publicUrl);
  const defaultPort = protocol === 'https:' ? ':443' : ':80';
  const behindTls = protocol === 'https:';
  return (request) => {
    const host = request.headers.host?.toLowerCase();
    if (host === undefined || host === '' || host === publicHost || host === `${publicHost}${defaultPort}`) return undefined;
    if (behindTls && request.protocol !== 'https') return undefined;
    if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return undefined;
    const target = samePathOn(request.url);
    return target === undefined ? undefined : `${publicUrl}${target}`;
  };
}

/**
 * The request's path and query, as a browser would send them again: a
 * backslash (which browsers leave as it is in a query) percent-encoded. An
 * absolute-form target (`GET http://host/login`), or one with characters no
 * browser sends, is not moved.
 */
function samePathOn(url: string): string | undefined {
  if (!url.startsWith('/') || url.startsWith('//') || /[\u0000-\u0020\u007f-\uffff]/.test(url)) return undefined;
  return url.replace(/\\/g, '%5C');
}
