// CORS (Fetch standard) for the routes a browser app calls with fetch():
// /token, /userinfo, /logout, /me and /sessions, from the origins of
// CORS_ORIGINS (by default those of RETURN_TO_URLS and of public OpenID
// Connect clients' redirect URIs) only. Every other route answers no CORS
// headers, so a foreign page can never read them; its preflights are 404s. No cookies are involved
// (credentials: false): these routes authenticate with tokens.
import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { Config } from '../config.js';

const CORS_PATHS = /^\/(?:token|logout|me|userinfo|sessions(?:\/[^/?#]*)?)(?:\?|$)/;
// Retry-After: when a 429 says to come back.
const EXPOSED_HEADERS = ['www-authenticate', 'x-request-id', 'retry-after'];

type CorsConfig = Pick<Config, 'corsOrigins' | 'corsLoopbackHosts'>;

/** CORS_ORIGINS exactly, and any port of a loopback host a RETURN_TO_URLS entry names. */
function allowedOrigins(config: CorsConfig): Array<string | RegExp> {
  const loopback = config.corsLoopbackHosts.map((host) => new RegExp(`^http://${host.replace(/[.[\]]/g, '\\$&')}(?::\\d{1,5})?$`));
  return [...config.corsOrigins, ...loopback];
}

export function corsOptions(config: CorsConfig): FastifyCorsOptions {
  const allowed: FastifyCorsOptions = {
    origin: allowedOrigins(config),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
    // A preflight without Origin is not a CORS request: answered without CORS headers rather than a text/plain 400.
    strictPreflight: false,
  };
  const delegator: FastifyCorsOptionsDelegateCallback = (request, callback) =>
    callback(null, CORS_PATHS.test(request.url) ? allowed : { origin: false });
  return { delegator };
}

/**
 * The CORS headers of a 404 on one of these paths (a method they do not
 * serve, say). The not-found handler runs outside their CORS hook, and an app
 * should read the problem rather than meet a network error.
 */
export function notFoundCorsHeaders(config: CorsConfig): (origin: string | undefined, url: string) => Record<string, string> {
  const allowed = allowedOrigins(config);
  return (origin, url): Record<string, string> => {
    if (origin === undefined || !CORS_PATHS.test(url)) return {};
    if (!allowed.some((entry) => (typeof entry === 'string' ? entry === origin : entry.test(origin)))) return {};
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS.join(', '), vary: 'Origin' };
  };
}
