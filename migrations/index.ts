import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as keyLifecycle from './0002_key_lifecycle.js';
import * as sessions from './0003_sessions.js';
import * as sessionPurge from './0004_session_purge.js';
import * as refreshChain from './0005_refresh_chain.js';
import * as upstreamProtocol from './0006_upstream_protocol.js';
import * as auditAndWebhooks from './0007_audit_and_webhooks.js';
import * as bansAndHookClaims from './0008_bans_and_hook_claims.js';
import * as signingKeysPerAlgorithm from './0009_signing_keys_per_algorithm.js';
import * as oidcSessions from './0010_oidc_sessions.js';

/** Every migration, in order. Names sort; a released one never changes. */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_key_lifecycle': keyLifecycle,
  '0003_sessions': sessions,
  '0004_session_purge': sessionPurge,
  '0005_refresh_chain': refreshChain,
  '0006_upstream_protocol': upstreamProtocol,
  '0007_audit_and_webhooks': auditAndWebhooks,
  '0008_bans_and_hook_claims': bansAndHookClaims,
  '0009_signing_keys_per_algorithm': signingKeysPerAlgorithm,
  '0010_oidc_sessions': oidcSessions,
};
