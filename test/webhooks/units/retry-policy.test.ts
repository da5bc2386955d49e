// What each attempt's result comes to: delivered, retried after a jittered
// exponential wait, or given up at WEBHOOK_MAX_AGE.
import t from 'tap';
import { backoffDelay, decideAfterAttempt, retryAfterMs, type AttemptResult } from '../../../src/webhooks/retry-policy.js';

const times = { baseMs: 1000, capMs: 60_000, maxAgeMs: 86_400_000 };
const T0 = Date.UTC(2026, 0, 1);
const answered = (status: number, retryAfter: string | null = null): AttemptResult => ({ kind: 'answered', status, retryAfter });
const at = (number: number, nowMs = T0 + 1000) => ({ number, createdAtMs: T0, nowMs });

t.test('backoffDelay: full jitter under a doubling bound, capped', async (t) => {
  t.same([1, 2, 3, 4, 7, 8, 50].map((n) => backoffDelay(n, times, () => 0.999_999)), [999, 1999, 3999, 7999, 59_999, 59_999, 59_999]);
  t.same([1, 5, 50].map((n) => backoffDelay(n, times, () => 0)), [0, 0, 0], 'the wait may be anything down to 0');
  t.equal(backoffDelay(3, times, () => 0.5), 2000);
  t.equal(backoffDelay(0, times, () => 0.5), 500, 'attempt numbers below 1 count as the first');
});

t.test('decideAfterAttempt', async (t) => {
  const half = () => 0.5;
  for (const status of [200, 201, 202, 204, 299]) t.same(decideAfterAttempt(answered(status), at(1), times, half), { kind: 'delivered' }, `${status} is delivered`);
  for (const status of [100, 301, 302, 304, 400, 401, 404, 429, 500, 502, 503, 504]) {
    t.same(decideAfterAttempt(answered(status), at(1), times, half), { kind: 'retry', atMs: T0 + 1000 + 500, error: `the receiver answered ${status}` }, `${status} is retried`);
  }
  t.same(decideAfterAttempt(answered(410), at(1), times, half), { kind: 'failed', error: 'the receiver answered 410 (Gone): not retried' });
  t.same(decideAfterAttempt({ kind: 'no_answer', failure: 'timeout' }, at(2), times, half), { kind: 'retry', atMs: T0 + 2000, error: 'the receiver did not answer in time' });
  t.same(decideAfterAttempt({ kind: 'no_answer', failure: 'unreachable' }, at(3), times, half), { kind: 'retry', atMs: T0 + 3000, error: 'the receiver could not be reached' });
});

t.test('WEBHOOK_MAX_AGE: no retry at or after it', async (t) => {
  const late = T0 + times.maxAgeMs - 1000;
  t.same(decideAfterAttempt(answered(500), at(9, late), times, () => 0.5), { kind: 'failed', error: 'the receiver answered 500; given up: WEBHOOK_MAX_AGE passed' }, 'a wait that would end past it');
  t.same(decideAfterAttempt(answered(500), at(9, late), times, () => 0.0001), { kind: 'retry', atMs: late + 6, error: 'the receiver answered 500' }, 'a wait that ends before it');
  t.same(decideAfterAttempt(answered(200), at(9, T0 + times.maxAgeMs + 5000), times, () => 0.5), { kind: 'delivered' }, 'an answer that came late still counts');
});

t.test('Retry-After is honoured up to the cap', async (t) => {
  t.same(decideAfterAttempt(answered(429, '30'), at(1), times, () => 0.5), { kind: 'retry', atMs: T0 + 1000 + 30_000, error: 'the receiver answered 429' });
  t.same(decideAfterAttempt(answered(503, '86400'), at(1), times, () => 0.5), { kind: 'retry', atMs: T0 + 1000 + 60_000, error: 'the receiver answered 503' }, 'capped');
  t.same(decideAfterAttempt(answered(503, '0'), at(4), times, () => 0.5), { kind: 'retry', atMs: T0 + 1000 + 4000, error: 'the receiver answered 503' }, 'never shorter than the backoff');
  t.equal(retryAfterMs('120', T0), 120_000);
  t.equal(retryAfterMs(' 7 ', T0), 7000);
  t.equal(retryAfterMs(new Date(T0 + 90_000).toUTCString(), T0), 90_000, 'an HTTP date');
  t.equal(retryAfterMs(new Date(T0 - 90_000).toUTCString(), T0), 0, 'a date passed already');
  for (const bad of [null, '', 'soon', '-5', '1.5', '99999999999', '2026-01-01T00:00:00Z', 'Thu, 01 Jan 2026 00:00:00 UTC']) t.equal(retryAfterMs(bad, T0), undefined, `unreadable: ${String(bad)}`);
});
