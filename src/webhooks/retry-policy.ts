// What a delivery attempt's result means (Standard Webhooks, "Delivery
// success and failure"): a 2xx is delivered; anything else, a timeout or no
// connection is retried after an exponential backoff with full jitter
// (a random wait between 0 and the exponential bound, so receivers coming
// back are not hit by every retry at once), until WEBHOOK_MAX_AGE after the
// event, when the delivery is given up and kept as failed. A 410 Gone says
// the receiver wants no more of it: failed at once. A Retry-After (429, 503)
// is honoured up to the backoff's cap.

export interface RetryTimes {
  /** The bound of the first retry's wait; each next one doubles it. */
  readonly baseMs: number;
  /** The largest bound. */
  readonly capMs: number;
  /** WEBHOOK_MAX_AGE: no attempt is made later than this after the event. */
  readonly maxAgeMs: number;
}

export const DEFAULT_RETRY_TIMES: Omit<RetryTimes, 'maxAgeMs'> = { baseMs: 5_000, capMs: 3600_000 };

export type AttemptResult =
  | { readonly kind: 'answered'; readonly status: number; readonly retryAfter: string | null }
  | { readonly kind: 'no_answer'; readonly failure: 'timeout' | 'unreachable' };

export type AttemptDecision =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly atMs: number; readonly error: string }
  | { readonly kind: 'failed'; readonly error: string };

/** The wait after failed attempt number `attempt` (1 for the first): uniform in [0, min(cap, base·2^(attempt-1))). */
export function backoffDelay(attempt: number, times: Omit<RetryTimes, 'maxAgeMs'>, random: () => number): number {
  const bound = Math.min(times.capMs, times.baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 40));
  return Math.floor(random() * bound);
}

/** Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP date; the wait it asks for in ms, undefined when unreadable. */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  // An IMF-fixdate, the form senders must use (§5.6.7); anything else Date.parse would guess at.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function describe(result: AttemptResult): string {
  if (result.kind === 'answered') return `the receiver answered ${result.status}`;
  return result.failure === 'timeout' ? 'the receiver did not answer in time' : 'the receiver could not be reached';
}

export function decideAfterAttempt(
  result: AttemptResult,
  attempt: { readonly number: number; readonly createdAtMs: number; readonly nowMs: number },
  times: RetryTimes,
  random: () => number,
): AttemptDecision {
  if (result.kind === 'answered' && result.status >= 200 && result.status < 300) return { kind: 'delivered' };
  const error = describe(result);
  if (result.kind === 'answered' && result.status === 410) return { kind: 'failed', error: `${error} (Gone): not retried` };
  let delay = backoffDelay(attempt.number, times, random);
  const asked = result.kind === 'answered' ? retryAfterMs(result.retryAfter, attempt.nowMs) : undefined;
  if (asked !== undefined) delay = Math.max(delay, Math.min(asked, times.capMs));
  const atMs = attempt.nowMs + delay;
  if (atMs >= attempt.createdAtMs + times.maxAgeMs) return { kind: 'failed', error: `${error}; given up: WEBHOOK_MAX_AGE passed` };
  return { kind: 'retry', atMs, error };
}
