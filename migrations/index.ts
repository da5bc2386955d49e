import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as keyLifecycle from './0002_key_lifecycle.js';

/** Every migration, in order. Names sort; a released one never changes. */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_key_lifecycle': keyLifecycle,
};
