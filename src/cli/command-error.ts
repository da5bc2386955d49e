// What an operator's command prints when it fails: the cause, in words an
// operator can act on. And the embedded database's lock every command takes
// before it opens DATA_DIR.
import { ConfigError, type DatabaseCommandConfig } from '../config.js';
import { AppError } from '../errors.js';
import { lockDataDir } from '../store/data-dir-lock.js';
import { describeConnectionError } from '../store/db.js';

export function describeCliError(error: unknown, databaseUrl?: string): string {
  if (error instanceof ConfigError) return error.message;
  // A first connection that failed names DATABASE_URL, where it points and why.
  const connection = databaseUrl?.trim() ? (describeConnectionError(error, databaseUrl.trim()) ?? describeConnectionError((error as { cause?: unknown })?.cause, databaseUrl.trim())) : undefined;
  if (connection !== undefined) return connection;
  // withDatabase keeps the driver's message from HTTP clients; an operator needs it.
  if (error instanceof AppError && error.cause instanceof Error) {
    const missingTable = (error.cause as { code?: string }).code === '42P01';
    return `the database failed: ${error.cause.message}${missingTable ? ' (apply the migrations first: npm run migrate, or node dist/src/cli/migrate.js from a build)' : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Without DATABASE_URL, takes DATA_DIR's lock for `roost <command>` (released
 * when the process exits), or throws DataDirInUseError while roost or
 * another command uses it: PGlite allows one process at a time.
 */
export function lockEmbeddedDatabase(config: DatabaseCommandConfig, command: string): void {
  if (config.databaseUrl !== undefined) return;
  const lock = lockDataDir(config.dataDir, { pid: process.pid, holder: `roost ${command}`, kind: 'command', kill: process.kill });
  process.on('exit', () => lock.release());
  if (lock.takeover !== undefined) process.stderr.write(`roost ${command}: ${lock.takeover}\n`);
}
