// The problems a configuration loader reports, or none.
import { ConfigError, loadConfig } from '../../src/config.js';

/** What `load` throws as a ConfigError's problems; any other error is rethrown. */
export function problemsOfLoading(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

/** The problems loadConfig reports for an environment. */
export function problemsOf(env: Record<string, string>): string[] {
  return problemsOfLoading(() => loadConfig(env));
}
