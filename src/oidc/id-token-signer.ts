// Signs a registered client's ID tokens with the key of the algorithm the
// client registered (RS256 unless it named ES256 or EdDSA), from the same
// key ring that publishes every key at /.well-known/jwks.json.
import type { ClientStore } from './clients.js';
import type { SigningAlg, SigningKey } from '../keys/signing-keys.js';
import { signJwt } from '../keys/compact-jws.js';
import type { IdTokenIssuer } from '../sessions/grants.js';
import { AppError } from '../errors.js';
import { buildIdTokenClaims } from './id-token.js';
import { parseScope } from './scopes.js';

export interface IdTokenSignerOptions {
  readonly issuer: string;
  readonly ttlSeconds: number;
  readonly clients: ClientStore;
  readonly signingKey: (alg: SigningAlg) => SigningKey;
  readonly now: () => number;
}

export function createIdTokenSigner(options: IdTokenSignerOptions): IdTokenIssuer {
  return async (user, sessionId, accessToken, session) => {
    const client = options.clients.find(session.clientId);
    if (client === undefined) throw new AppError('invalid_grant', 'The client of this session is no longer registered', { members: { error: 'invalid_grant' } });
    const key = options.signingKey(client.idTokenAlg);
    const scope = parseScope(session.scope);
    const claims = buildIdTokenClaims({
      issuer: options.issuer,
      user,
      clientId: client.clientId,
      nonce: session.nonce,
      authTimeMs: session.authTimeMs,
      sid: sessionId,
      accessToken,
      alg: client.idTokenAlg,
      scopes: scope.ok ? scope.scopes : ['openid'],
      nowMs: options.now(),
      ttlSeconds: options.ttlSeconds,
    });
    return signJwt(claims, key, 'JWT');
  };
}
