// CORS (Fetch standard) for the routes a browser app calls with fetch():
// /token, /logout, /me and /sessions, from the origins in RETURN_TO_ORIGINS
// only. Every other route answers no CORS headers, so a foreign page can
// never read them; its preflights are 404s. No cookies are involved
// (credentials: false): these routes authenticate with tokens.
import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { Config } from '../config.js';

const CORS_PATHS = /^\/(?:token|logout|me|sessions(?:\/[^/?#]*)?)(?:\?|$)/;

export function corsOptions(config: Pick<Config, 'returnToOrigins'>): FastifyCorsOptions {
  const allowed: FastifyCorsOptions = {
    origin: [...config.returnToOrigins],
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    // Retry-After: when a 429 says to come back.
    exposedHeaders: ['www-authenticate', 'x-request-id', 'retry-after'],
    credentials: false,
    maxAge: 600,
    // A preflight without Origin is not a CORS request: answered without CORS headers rather than a text/plain 400.
    strictPreflight: false,
  };
  const delegator: FastifyCorsOptionsDelegateCallback = (request, callback) =>
    callback(null, CORS_PATHS.test(request.url) ? allowed : { origin: false });
  return { delegator };
}
