// Account deletion: the profile, the stored Twitter credentials and every
// session go in one statement; then the user's Twitter access token is
// revoked at Twitter, best effort (the account is gone whatever Twitter says).
import { decryptSecret, type EncryptionKeys } from '../keys/crypto-box.js';
import type { Db } from '../store/db.js';
import type { SessionCheck } from '../sessions/session-check.js';
import { listSessionIds } from '../sessions/queries.js';
import type { TwitterClient } from '../twitter/client.js';
import { deleteUser } from './profiles.js';

export interface AccountDeps {
  readonly db: Db;
  readonly twitter: TwitterClient;
  /** Credentials sealed before an ENCRYPTION_KEY rotation open with a previous key. */
  readonly encryptionKeys: EncryptionKeys;
  readonly sessionCheck: SessionCheck;
  /** Told when Twitter could not revoke the token; the deletion stands. */
  readonly onRevokeFailed: (error: unknown) => void;
}

/** False when the user did not exist (deleted meanwhile). */
export async function deleteAccount(deps: AccountDeps, userId: string): Promise<boolean> {
  const sessionIds = await listSessionIds(deps.db, userId);
  const deleted = await deleteUser(deps.db, userId);
  for (const id of sessionIds) deps.sessionCheck.forget(id);
  if (!deleted) return false;
  try {
    const access = {
      token: decryptSecret(deps.encryptionKeys, deleted.tokenSealed, `twitter_token:${deleted.twitterId}`),
      secret: decryptSecret(deps.encryptionKeys, deleted.secretSealed, `twitter_token_secret:${deleted.twitterId}`),
    };
    await deps.twitter.invalidateToken(access);
  } catch (error) {
    deps.onRevokeFailed(error);
  }
  return true;
}
