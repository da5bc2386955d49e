// npm run keys -- list | rotate [--alg …] | revoke <kid>: the operator's key
// commands, against DATABASE_URL (or the embedded database while roost is stopped).
// They read only the database, ENCRYPTION_KEY(S) and the key settings: not
// the Twitter app, the cookie secret or the origins the server needs. Like the
// server, they keep a key for JWT_ALG and for each ID token algorithm.
import { describeCliError, lockEmbeddedDatabase } from './command-error.js';
import { loadKeysCommandConfig } from '../config.js';
import { createDatabase } from '../store/db.js';
import { KEYS_USAGE, parseKeysCommand, runKeysCommand } from '../keys/key-commands.js';
import { keyPolicy } from '../keys/key-lifecycle.js';
import { loadOrCreateLocalSecrets } from '../keys/local-secrets.js';
import type { SigningAlg } from '../keys/signing-keys.js';
import { createAuditWriter } from '../audit/writer.js';

const command = parseKeysCommand(process.argv.slice(2));
if ('error' in command) {
  process.stderr.write(`roost keys: ${command.error}\n${KEYS_USAGE}\n`);
  process.exit(2);
}

try {
  // With DATABASE_URL it requires ENCRYPTION_KEY: a key of this machine's DATA_DIR would open on no replica.
  const config = loadKeysCommandConfig(process.env);
  lockEmbeddedDatabase(config, 'keys');
  const db = await createDatabase({ databaseUrl: config.databaseUrl, poolSize: 1, timeoutMs: config.databaseTimeoutMs, dataDir: config.dataDir });
  let exitCode: number;
  try {
    const result = await runKeysCommand(
      {
        db,
        // With the embedded database the server may run on a generated key kept in DATA_DIR; so does this command.
        encryptionKey: {
          current: config.encryptionKey ?? loadOrCreateLocalSecrets(config.dataDir).encryptionKey,
          previous: config.encryptionKeysPrevious,
        },
        policy: keyPolicy(config),
        alg: config.jwtAlg,
        // The ID token algorithms of the registered OIDC clients, as the server keeps them.
        extraAlgs: config.oidc?.idTokenAlgs ?? [],
        now: Date.now,
        // Into the audit log, and to the webhook's outbox when WEBHOOK_URL is set (the server delivers it).
        onKeyEvent: (event) =>
          createAuditWriter({
            now: Date.now,
            webhooks: config.webhook !== undefined,
            onWriteFailed: (error) => process.stderr.write(`roost keys: the audit event could not be stored: ${error instanceof Error ? error.message : String(error)}\n`),
            onDetailRefused: () => undefined,
          }).record(db, { type: event.type, outcome: 'success', detail: { kid: event.kid, alg: event.alg ?? null, by: 'keys command' } }),
      },
      command,
    );
    (result.exitCode === 0 ? process.stdout : process.stderr).write(result.output);
    exitCode = result.exitCode;
  } finally {
    await db.destroy();
  }
  // Only once closed: the embedded database (PGlite) resets process.exitCode while it closes.
  process.exitCode = exitCode;
} catch (error) {
  process.stderr.write(`roost keys: ${describeCliError(error, process.env.DATABASE_URL)}\n`);
  process.exit(1);
}
