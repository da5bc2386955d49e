// The process: configuration from the environment, logger, dependencies,
// the app, listen, and a clean close on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace';
import { buildApp, routeTable } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createDeps } from './deps.js';
import { createLogger, prettyDestination } from './ops/logger.js';
import { lockDataDir } from './store/data-dir-lock.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`roost: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Pretty lines for a person at a terminal; JSON lines for everything else.
  const logger = createLogger(config.logLevel, process.stdout.isTTY ? await prettyDestination() : undefined);
  // The embedded database allows one process at a time: hold DATA_DIR, or
  // refuse to start while another roost or a command uses it.
  const lock = config.databaseUrl === undefined ? lockDataDir(config.dataDir, { pid: process.pid, holder: 'roost', kind: 'server', kill: process.kill }) : undefined;
  if (lock !== undefined) {
    // Also when the close times out or start-up fails: both exit at once.
    process.on('exit', () => lock.release());
    if (lock.takeover !== undefined) logger.warn({ lock: lock.file }, lock.takeover);
  }
  const deps = await createDeps(config, logger);
  const app = await buildApp(config, deps, logger);

  // SIGTERM or SIGINT: stop accepting, let in-flight requests finish within
  // SHUTDOWN_TIMEOUT_MS, close the pools, exit 0. Past the bound, or on a
  // second signal, exit 1 at once.
  closeWithGrace(
    {
      delay: config.shutdownTimeoutMs,
      logger,
      onSecondSignal: (signal) => logger.warn({ signal }, 'second signal: exiting now'),
      onTimeout: (delay) => logger.error({ timeoutMs: delay }, 'in-flight requests did not finish within SHUTDOWN_TIMEOUT_MS: exiting now'),
    },
    async ({ err, signal }) => {
      if (err) logger.error({ err }, 'closing after an error');
      else logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'closing: finishing in-flight requests');
      await app.close();
      await deps.close();
      lock?.release();
      logger.info('closed');
    },
  );

  await app.listen({ port: config.port, host: config.host });
  logger.debug({ routes: routeTable(app).filter((r) => !r.hidden && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`) }, 'routes');
  logger.info(
    { url: config.publicUrl, startupMs: Math.round(performance.now() - startedAt), sandbox: config.sandbox, protocol: config.twitter.protocol },
    `roost is ready at ${config.publicUrl}`,
  );
  // Twitter refuses OAuth timestamps from a skewed clock (error 135): say so
  // at start rather than at the first user's failed sign-in. One
  // unauthenticated request, in the background; the sandbox shares our clock.
  if (!config.sandbox) void deps.upstream.checkClock();
  // The operator's tools are silent when off (the admin API answers 404): say which are on.
  if (config.admin.keys.length > 0) logger.info({ keys: config.admin.keys.length }, 'admin API on at /admin/');
  if (config.webhook) logger.info({ origin: new URL(config.webhook.url).origin }, 'webhooks on: audit events are delivered, signed');
  if (config.signInHook) logger.info({ origin: new URL(config.signInHook.url).origin, failOpen: config.signInHook.failOpen }, 'sign-in hook on');
  if (config.oidc) {
    logger.info({ clients: config.oidc.clientList.map((client) => client.clientId), idTokenAlgs: config.oidc.idTokenAlgs }, 'OpenID Connect provider on: discovery at /.well-known/openid-configuration');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`roost: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
