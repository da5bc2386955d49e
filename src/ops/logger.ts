// Structured JSON logs. Request lines carry the path without its query and
// never headers: tokens, verifiers, cookies and Authorization stay out.
import { pino, type Logger } from 'pino';
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
    destination,
  );
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
