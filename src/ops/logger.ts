// Structured JSON logs. Request lines carry the path without its query and
// never headers: tokens, verifiers, cookies and Authorization stay out.
import { pino, type Bindings, type ChildLoggerOptions, type Level, type LevelWithSilentOrString, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

// Where a secret header could sit: at the top level, in a `headers` object,
// or inside one of the objects roost logs (requests, responses, errors).
// Named paths rather than leading wildcards (`*.authorization`): pino runs a
// leading-wildcard redactor over every value of every line, which cost about
// 6 µs a request, a fifth of serving the JWKS (npm run bench).
const HOLDERS = ['req', 'res', 'request', 'response', 'err', 'error'] as const;
const HEADER_NAMES = ['.authorization', '.cookie', '["set-cookie"]', '.location'] as const;
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'cookie',
  ...HOLDERS.flatMap((holder) => [`${holder}.authorization`, `${holder}.cookie`]),
  ...['headers', ...HOLDERS.map((holder) => `${holder}.headers`)].flatMap((headers) => HEADER_NAMES.map((name) => `${headers}${name}`)),
];

/**
 * Without a destination, standard output written synchronously, one write
 * per line. pino's default hands each write to libuv's thread pool and back,
 * which cost more CPU than the write itself (measured alone: about 25 µs a
 * line against 15 when lines come one at a time, as at low load), and lets
 * lines pile up in memory when the reader lags; a synchronous write has
 * nothing left to flush at exit either.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'roost' },
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, path: pathOf(req.url) }),
        res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
        err: serializeError,
      },
      // A second line of defence in case a header object is ever logged.
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * A request's logger: a child of `parent` with `fields` (the request id, then
 * whatever the route adds, such as the user id) that becomes a real pino
 * child only when something logs through it. Most requests log nothing but
 * their closing line, which `requestLine` writes for the parent with the
 * same fields in the same order: no child logger (two on /me, one of them
 * for the user id), and the line put together directly (see writeLine).
 */
export class RequestLogger {
  readonly #parent: Logger;
  readonly #fields: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, fields: Bindings) {
    this.#parent = parent;
    this.#fields = fields;
  }

  /** The request line (or any info line of the request's end): the fields, then `line`'s own. */
  requestLine(line: Record<string, unknown>, message: string): void {
    if (this.#child !== undefined) return this.#child.info(line, message);
    if (!this.#parent.isLevelEnabled('info') || writeLine(this.#parent, INFO, this.#fields, line, message)) return;
    this.#logger().info(line, message);
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#logger().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#write('error', args);
  }

  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }

  info(...args: unknown[]): void {
    this.#write('info', args);
  }

  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }

  silent(): void {}

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }

  /** Without options, another lazy logger with the fields added after these (as pino orders a child's bindings). */
  child(bindings: Bindings, options?: ChildLoggerOptions): RequestLogger | Logger {
    if (options !== undefined && Object.keys(options).length > 0) return this.#logger().child(bindings, options);
    if (this.#child !== undefined) return new RequestLogger(this.#child, bindings);
    return new RequestLogger(this.#parent, { ...this.#fields, ...bindings });
  }

  #logger(): Logger {
    this.#child ??= this.#parent.child(this.#fields);
    return this.#child;
  }

  #write(level: Level, args: unknown[]): void {
    if (!(this.#child ?? this.#parent).isLevelEnabled(level)) return;
    (this.#logger()[level] as (...args: unknown[]) => void)(...args);
  }
}

const INFO = 30;
const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const plainLoggers = new WeakMap<Logger, boolean>();

/**
 * Writes the line `logger.child(fields)[level](line, message)` would write,
 * byte for byte, without the child and without pino's walk over an object
 * made for the purpose (together about 2 µs of the 3 a request line cost,
 * measured alone; more in a busy server). Only for what needs none of
 * pino's per-key work: a logger without mixin, hooks, message prefix,
 * nested key or log formatter, writing to a stream that wants no metadata,
 * and keys that are plain names with no serializer and no redaction (so
 * neither `authorization` nor `cookie`), whose values are strings, finite
 * numbers or undefined. Anything else returns false: the caller logs it
 * the ordinary way. test/ops/request-logger.test.ts compares the two.
 */
function writeLine(logger: Logger, level: number, fields: Bindings, line: Record<string, unknown>, message: string): boolean {
  const symbols = pino.symbols;
  const internals = logger as unknown as Record<symbol, unknown>;
  let plain = plainLoggers.get(logger);
  if (plain === undefined) {
    const formatters = internals[symbols.formattersSym] as { log?: unknown } | undefined;
    const hooks = internals[symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
    const stream = internals[symbols.streamSym] as Record<symbol, unknown> | undefined;
    plain =
      !internals[symbols.mixinSym] &&
      !internals[symbols.nestedKeySym] &&
      // Not in pino's types, though pino.symbols has it.
      !internals[(symbols as unknown as Record<string, symbol>).msgPrefixSym as symbol] &&
      formatters?.log === undefined &&
      hooks?.logMethod === undefined &&
      hooks?.streamWrite === undefined &&
      typeof (stream as { write?: unknown } | undefined)?.write === 'function' &&
      stream?.[symbols.needsMetadataGsym] !== true &&
      !(internals[symbols.stringifiersSym] as Record<symbol, unknown>)[symbols.wildcardFirstSym] &&
      typeof (internals[symbols.lsCacheSym] as Record<number, unknown>)[level] === 'string';
    plainLoggers.set(logger, plain);
  }
  if (!plain) return false;
  const serializers = internals[symbols.serializersSym] as Record<string, unknown>;
  const stringifiers = internals[symbols.stringifiersSym] as Record<string, unknown>;
  const errorKey = internals[symbols.errorKeySym] as string;
  const messageKey = internals[symbols.messageKeySym] as string;
  let text = '';
  for (const source of [fields, line]) {
    for (const key in source) {
      const value = source[key];
      if (value === undefined) continue;
      if (!SIMPLE_KEY.test(key) || serializers[key] !== undefined || stringifiers[key] !== undefined || key === errorKey || key === messageKey) return false;
      if (typeof value === 'string') text += `,"${key}":${JSON.stringify(value)}`;
      else if (typeof value === 'number' && Number.isFinite(value)) text += `,"${key}":${value}`;
      else return false;
    }
  }
  const start = (internals[symbols.lsCacheSym] as Record<number, string>)[level] as string;
  const time = (internals[symbols.timeSym] as () => string)();
  const chindings = internals[symbols.chindingsSym] as string;
  (internals[symbols.streamSym] as { write(line: string): void }).write(
    `${start}${time}${chindings}${text},"${messageKey}":${JSON.stringify(message)}${internals[symbols.endSym] as string}`,
  );
  return true;
}

/** pino-pretty, loaded only when a person reads the output: JSON stays the default. */
export async function prettyDestination(): Promise<pino.DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
}

export function pathOf(url: string | undefined): string | undefined {
  return url === undefined ? undefined : url.split('?', 1)[0];
}

/**
 * An error as type, message, code and stack (the stack includes the cause
 * chain's messages). Nothing else: libraries hang request data on their
 * errors (ioredis the command and its arguments, Node's HTTP parser the raw
 * request bytes), and that can hold secrets.
 */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { type, message, stack } = pino.stdSerializers.err(error);
  const code = (error as { code?: unknown }).code;
  return { type, message, stack, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
}
