// Requests per second and latency of one URL with autocannon, run in this
// process (the servers under test each have their own).
import autocannon from 'autocannon';
import { round } from './stats.js';

export interface HttpLoadOptions {
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly connections: number;
  readonly durationS: number;
}

export interface HttpLoadResult {
  readonly requests: number;
  readonly reqPerSec: number;
  /** autocannon's latency histogram, in whole milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly elapsedS: number;
}

export async function measureHttp(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const result = await autocannon({
    url: options.url,
    headers: options.headers ?? {},
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
  });
  const answered = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  return {
    requests: answered,
    reqPerSec: Math.round(answered / result.duration),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    elapsedS: round(result.duration, 2),
  };
}
