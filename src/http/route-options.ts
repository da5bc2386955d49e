// What every route plugin receives and may ask of the app: its options, a
// rate limit, and naming the signed-in user on the request's log lines.
import type { FastifyContextConfig, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import type { ErrorCode } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The problem code for a request that fails the route's schema (default invalid_request). */
    invalidCode?: ErrorCode;
  }
}

export interface RouteOptions {
  readonly config: Config;
  readonly deps: Deps;
}

/** A route's rate limit (app.ts registers the plugin): `max` requests per client address per window, none when `max` is 0. */
export function rateLimited(max: number, windowSeconds: number): FastifyContextConfig {
  return max > 0 ? { rateLimit: { max, timeWindow: windowSeconds * 1000 } } : {};
}

/** Names the signed-in user on this request's later log lines, its closing request line included. */
export function identifyUser(request: FastifyRequest, userId: string): void {
  request.log = request.log.child({ userId });
}
