// Account deletion: the profile, the stored X credentials and every session
// go in one statement; then the user's X access token is revoked at X, best
// effort (the account is gone whatever X says).
import { AppError } from '../errors.js';
import { decryptSecret, type EncryptionKeys } from '../keys/crypto-box.js';
import type { Db } from '../store/db.js';
import type { SessionCheck } from '../sessions/session-check.js';
import { listSessionIds } from '../sessions/queries.js';
import type { Upstream } from '../twitter/upstream.js';
import { deleteUser } from './profiles.js';

export interface AccountDeps {
  readonly db: Db;
  readonly upstream: Upstream;
  /** Credentials sealed before an ENCRYPTION_KEY rotation open with a previous key. */
  readonly encryptionKeys: EncryptionKeys;
  readonly sessionCheck: SessionCheck;
  /** Told when X could not revoke the token; the deletion stands. */
  readonly onRevokeFailed: (error: unknown) => void;
}

/** False when the user did not exist (deleted meanwhile). */
export async function deleteAccount(deps: AccountDeps, userId: string): Promise<boolean> {
  const sessionIds = await listSessionIds(deps.db, userId);
  const deleted = await deleteUser(deps.db, userId);
  for (const id of sessionIds) deps.sessionCheck.forget(id);
  if (!deleted) return false;
  try {
    const { protocol, token, secret } = deleted.credentials;
    // Credentials of the other protocol (stored before a switch) can only be revoked with that protocol's keys.
    if (protocol !== deps.upstream.protocol) {
      throw new AppError('twitter_token_invalid', `the stored X token belongs to ${protocol}, and roost now signs in with ${deps.upstream.protocol}; it expires on its own or can be revoked in X's settings`);
    }
    await deps.upstream.revoke({
      protocol,
      token: decryptSecret(deps.encryptionKeys, token, `twitter_token:${deleted.twitterId}`),
      secret: secret === null ? null : decryptSecret(deps.encryptionKeys, secret, `twitter_token_secret:${deleted.twitterId}`),
    });
  } catch (error) {
    deps.onRevokeFailed(error);
  }
  return true;
}
