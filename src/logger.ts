// Structured JSON logs. Request lines carry the path without its query and
// never headers: tokens, verifiers, cookies and Authorization stay out.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

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
      redact: {
        paths: ['authorization', 'cookie', '*.authorization', '*.cookie', '*.headers.authorization', '*.headers.cookie', '*.headers["set-cookie"]', '*.headers.location'],
        censor: '[redacted]',
      },
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
