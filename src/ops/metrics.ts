// Prometheus metrics (prom-client). Each app has its own registry, so two
// instances in one process never mix their counts. Labels take values from
// small fixed sets only (route patterns, error codes, endpoint names), never
// from request data, so the number of series stays bounded.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { AppError } from '../errors.js';
import type { TwitterClient } from '../twitter/client.js';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly signInsStarted: Counter;
  readonly signInsCompleted: Counter;
  readonly signInsDenied: Counter;
  /** step: start (GET /login) or finish (the callback); reason: the error code. */
  readonly signInsFailed: Counter<'step' | 'reason'>;
  readonly twitterDuration: Histogram<'endpoint' | 'outcome'>;
  readonly twitterErrors: Counter<'endpoint' | 'reason'>;
  /** grant: how the token was earned (sign_in, refresh). */
  readonly tokensIssued: Counter<'grant'>;
  /** outcome: ok, or the error code of a refused refresh. */
  readonly refreshes: Counter<'outcome'>;
  /** kind: command (a failed call) or connection (a lost or refused connection). */
  readonly redisErrors: Counter<'kind'>;
  /** kind: query (a failed statement) or connection (an idle client's error). */
  readonly postgresErrors: Counter<'kind'>;
  /** Purges of ended sessions, by outcome (ok, failed); sessionsPurged: the sessions they deleted. */
  readonly sessionPurges: Counter<'outcome'>;
  readonly sessionsPurged: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    httpRequests: new Counter({
      name: 'roost_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'roost_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: seconds,
      registers,
    }),
    signInsStarted: new Counter({ name: 'roost_sign_ins_started_total', help: 'Sign-ins handed to Twitter', registers }),
    signInsCompleted: new Counter({ name: 'roost_sign_ins_completed_total', help: 'Sign-ins that ended with a token', registers }),
    signInsDenied: new Counter({ name: 'roost_sign_ins_denied_total', help: 'Sign-ins the user cancelled at Twitter', registers }),
    signInsFailed: new Counter({
      name: 'roost_sign_ins_failed_total',
      help: 'Sign-in requests that failed, by step (start, finish) and error code',
      labelNames: ['step', 'reason'],
      registers,
    }),
    twitterDuration: new Histogram({
      name: 'roost_twitter_request_duration_seconds',
      help: 'Time of each call to Twitter, by endpoint and outcome (ok, error)',
      labelNames: ['endpoint', 'outcome'],
      buckets: seconds,
      registers,
    }),
    twitterErrors: new Counter({
      name: 'roost_twitter_errors_total',
      help: 'Failed calls to Twitter, by endpoint and error code',
      labelNames: ['endpoint', 'reason'],
      registers,
    }),
    tokensIssued: new Counter({ name: 'roost_tokens_issued_total', help: 'Access tokens issued, by grant', labelNames: ['grant'], registers }),
    refreshes: new Counter({ name: 'roost_refreshes_total', help: 'Token refreshes, by outcome', labelNames: ['outcome'], registers }),
    redisErrors: new Counter({ name: 'roost_redis_errors_total', help: 'Redis errors, by kind (command, connection)', labelNames: ['kind'], registers }),
    postgresErrors: new Counter({ name: 'roost_postgres_errors_total', help: 'Postgres errors, by kind (query, connection)', labelNames: ['kind'], registers }),
    sessionPurges: new Counter({ name: 'roost_session_purges_total', help: 'Purges of ended sessions, by outcome (ok, failed)', labelNames: ['outcome'], registers }),
    sessionsPurged: new Counter({ name: 'roost_sessions_purged_total', help: 'Ended sessions deleted by the purge', registers }),
  };
}

/** Counts and times one answered request, under its route pattern (never the raw URL: one series per route, not per path). */
export function recordHttp(metrics: Metrics, method: string, route: string, status: number, seconds: number): void {
  const labels = { method, route, status: String(status) };
  metrics.httpRequests.inc(labels);
  metrics.httpDuration.observe(labels, seconds);
}

/** The error code a failure is counted under. */
export function reasonOf(error: unknown): string {
  return error instanceof AppError ? error.code : 'internal_error';
}

const TWITTER_ENDPOINTS = {
  requestToken: 'oauth/request_token',
  accessToken: 'oauth/access_token',
  verifyCredentials: '1.1/account/verify_credentials.json',
} as const;

/** The same client, timing each call to Twitter and counting its failures by endpoint. */
export function instrumentTwitter(client: TwitterClient, metrics: Metrics): TwitterClient {
  const timed = async <T>(endpoint: string, work: () => Promise<T>): Promise<T> => {
    const stop = metrics.twitterDuration.startTimer({ endpoint });
    try {
      const result = await work();
      stop({ outcome: 'ok' });
      return result;
    } catch (error) {
      stop({ outcome: 'error' });
      metrics.twitterErrors.inc({ endpoint, reason: reasonOf(error) });
      throw error;
    }
  };
  return {
    ...client,
    requestToken: (callbackUrl) => timed(TWITTER_ENDPOINTS.requestToken, () => client.requestToken(callbackUrl)),
    accessToken: (request, verifier) => timed(TWITTER_ENDPOINTS.accessToken, () => client.accessToken(request, verifier)),
    verifyCredentials: (access) => timed(TWITTER_ENDPOINTS.verifyCredentials, () => client.verifyCredentials(access)),
  };
}
