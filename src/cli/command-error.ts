// What an operator's command prints when it fails: the cause, in words an
// operator can act on.
import { ConfigError } from '../config.js';
import { AppError } from '../errors.js';

export function describeCliError(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  // withDatabase keeps the driver's message from HTTP clients; an operator needs it.
  if (error instanceof AppError && error.cause instanceof Error) {
    const missingTable = (error.cause as { code?: string }).code === '42P01';
    return `the database failed: ${error.cause.message}${missingTable ? ' (apply the migrations first: npm run migrate, or node dist/src/cli/migrate.js from a build)' : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}
