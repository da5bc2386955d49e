// Load shedding. Past a bound, a request is answered at once with 503
// overloaded and Retry-After (RFC 9110 §15.6.4, §10.2.3) instead of waiting
// behind the others until every answer is late. Two bounds, each read
// without work per request:
// - the event loop's delay: a timer checks every SAMPLE_MS how late it ran.
//   Work waiting for the one JavaScript thread (a saturated CPU) shows
//   there first. While the last two checks both ran later than
//   OVERLOAD_MAX_EVENT_LOOP_DELAY_MS, new requests are refused: a lasting
//   delay, not one pause (a long synchronous task such as building the
//   documentation page, a collection, a process throttled for a moment),
//   after which the loop runs on time again;
// - the requests in flight, counted from their first hook to the close of
//   their answer: work waiting elsewhere (the Postgres pool, X) shows there.
// The routes an orchestrator or a scraper polls (/healthz, /readyz,
// /metrics) are registered outside the guard and always answer.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AppError } from '../errors.js';

/** How often the event loop's delay is read; a later check is a later loop. */
export const SAMPLE_MS = 50;
/** What a refused client is told: come back after this many seconds. */
export const RETRY_AFTER_SECONDS = 2;

export interface OverloadSettings {
  /** 0: no bound on the event loop's delay. */
  readonly maxEventLoopDelayMs: number;
  /** 0: no bound on requests in flight. */
  readonly maxInFlight: number;
}

export type ShedReason = 'event_loop_delay' | 'in_flight';

export interface OverloadGuard {
  /** The onRequest hook of every route that may be shed. */
  onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
  /** What the guard sees now. */
  state(): { readonly eventLoopDelayMs: number; readonly inFlight: number };
  /** Starts reading the event loop's delay: once the app is ready, so that its own start-up is not taken for a delay. */
  start(): void;
  close(): void;
}

/** Undefined when both bounds are off: then nothing is added to a request's path. */
export function createOverloadGuard(settings: OverloadSettings, onShed: (reason: ShedReason) => void): OverloadGuard | undefined {
  const { maxEventLoopDelayMs, maxInFlight } = settings;
  if (maxEventLoopDelayMs <= 0 && maxInFlight <= 0) return undefined;
  let inFlight = 0;
  // The two latest checks' delays; the smaller is the delay that lasted.
  let earlierMs = 0;
  let latestMs = 0;
  let delayMs = 0;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const sample = () => {
    const now = performance.now();
    earlierMs = latestMs;
    latestMs = Math.max(0, now - last - SAMPLE_MS);
    delayMs = Math.min(earlierMs, latestMs);
    last = now;
  };
  // A place is freed once, by whichever closes first: the answer (finished
  // or abandoned by its client), or the connection. A pipelined request
  // queued behind an unfinished answer never gets the socket, so when the
  // connection drops its answer never closes: the socket's close frees it.
  const holdPlace = (response: ServerResponse, socket: Socket | null) => {
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      inFlight -= 1;
      response.off('close', release);
      socket?.off('close', release);
    };
    response.once('close', release);
    socket?.once('close', release);
  };
  const refuse = (reason: ShedReason, done: HookHandlerDoneFunction) => {
    onShed(reason);
    done(new AppError('overloaded', `This server is too busy to answer now; try again in ${RETRY_AFTER_SECONDS} s`, { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } }));
  };
  return {
    onRequest(request, reply, done) {
      if (maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs) return refuse('event_loop_delay', done);
      if (maxInFlight > 0) {
        if (inFlight >= maxInFlight) return refuse('in_flight', done);
        inFlight += 1;
        holdPlace(reply.raw, request.raw.socket);
      }
      done();
    },
    state: () => ({ eventLoopDelayMs: delayMs, inFlight }),
    start() {
      if (maxEventLoopDelayMs <= 0 || timer !== undefined) return;
      last = performance.now();
      timer = setInterval(sample, SAMPLE_MS).unref();
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
