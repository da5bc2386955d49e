// Prometheus metrics (prom-client). Each app has its own registry, so two
// instances in one process never mix their counts. Labels take values from
// small fixed sets only (route patterns, error codes, endpoint names), never
// from request data, so the number of series stays bounded.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AppError } from '../errors.js';
import type { TimedCall } from '../twitter/upstream.js';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly signInsStarted: Counter;
  readonly signInsCompleted: Counter;
  /** reason: cancelled (at X), email_required (TWITTER_EMAIL=required and X had no confirmed email), suspended (banned), hook_refused (the sign-in hook said no). */
  readonly signInsDenied: Counter<'reason'>;
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
  /** Audit events that could not be stored (the request they describe went on). */
  readonly auditWriteFailures: Counter<'type'>;
  /** Each webhook attempt's outcome: delivered, retried, failed (given up). */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** Seconds since the event of the oldest delivery still pending, read at each scrape from `webhookAge.read`. */
  readonly webhookOldestPending: Gauge;
  /** Where the gauge above reads its value: set when a webhook is configured; 0 otherwise. */
  readonly webhookAge: { read: () => Promise<number> };
  /** Sign-ins the sign-in hook refused, or that it failed for (outcome: refused, failed_closed, failed_open). */
  readonly signInHook: Counter<'outcome'>;
  /** Requests answered 503 overloaded, by the bound they met (event_loop_delay, in_flight). */
  readonly requestsShed: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const webhookAge = { read: async () => 0 };
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
    signInsDenied: new Counter({
      name: 'roost_sign_ins_denied_total',
      help: 'Sign-ins refused: cancelled by the user at X, without the email TWITTER_EMAIL=required asks for, a suspended account, or refused by the sign-in hook',
      labelNames: ['reason'],
      registers,
    }),
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
    auditWriteFailures: new Counter({ name: 'roost_audit_write_failures_total', help: 'Audit events that could not be stored, by type', labelNames: ['type'], registers }),
    webhookDeliveries: new Counter({ name: 'roost_webhook_deliveries_total', help: 'Webhook attempts, by outcome (delivered, retried, failed)', labelNames: ['outcome'], registers }),
    webhookOldestPending: new Gauge({
      name: 'roost_webhook_oldest_pending_seconds',
      help: 'Age of the oldest webhook delivery still pending, 0 when none',
      registers,
      async collect() {
        this.set(await webhookAge.read().catch(() => 0));
      },
    }),
    webhookAge,
    signInHook: new Counter({ name: 'roost_sign_in_hook_total', help: 'Sign-in hook calls, by outcome (allowed, refused, failed_closed, failed_open)', labelNames: ['outcome'], registers }),
    requestsShed: new Counter({
      name: 'roost_requests_shed_total',
      help: 'Requests answered 503 overloaded, by the bound they met (event_loop_delay, in_flight)',
      labelNames: ['reason'],
      registers,
    }),
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

/** Times each call to X under its endpoint name and counts its failures; the upstream clients take it as `timed`. */
export function timeTwitterCalls(metrics: Metrics): TimedCall {
  return async <T>(endpoint: string, work: () => Promise<T>): Promise<T> => {
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
}
