// The process: configuration from the environment, logger, dependencies,
// the app, listen, and a clean close on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace';
import { buildApp, routeTable } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createDeps } from './deps.js';
import { createLogger } from './logger.js';

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
  const logger = createLogger(config.logLevel);
  const deps = await createDeps(config, logger);
  const app = await buildApp(config, deps, logger);

  closeWithGrace({ delay: 10_000, logger }, async ({ err }) => {
    if (err) logger.error({ err }, 'closing after an error');
    await app.close();
    await deps.close();
  });

  await app.listen({ port: config.port, host: config.host });
  logger.debug({ routes: routeTable(app).filter((r) => !r.hidden && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`) }, 'routes');
  logger.info(
    { url: config.publicUrl, startupMs: Math.round(performance.now() - startedAt), sandbox: config.sandbox },
    `roost is ready at ${config.publicUrl}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`roost: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
