// The OAuth 1.0a client (RFC 5849, "Sign in with Twitter") behind the
// Upstream interface the sign-in flow speaks, so the flow does not care
// which protocol X is spoken in.
import { AppError } from '../errors.js';
import { createTwitterClient, type TwitterClientOptions } from './client.js';
import type { EmailMode, TimedCall, Upstream } from './upstream.js';

export interface OAuth1UpstreamOptions extends Omit<TwitterClientOptions, 'email'> {
  readonly email: EmailMode;
  /** Wraps each call to X under its endpoint name (the metrics time and count them). */
  readonly timed?: TimedCall;
}

export function createOAuth1Upstream(options: OAuth1UpstreamOptions): Upstream {
  const client = createTwitterClient(options);
  const timed: TimedCall = options.timed ?? ((_endpoint, work) => work());

  return {
    protocol: 'oauth1',

    async begin(callbackUrl) {
      const request = await timed('oauth/request_token', () => client.requestToken(callbackUrl));
      // The request token comes back on the callback (§2.2); its secret signs the exchange (§2.3).
      return { location: client.authenticateUrl(request.token), handle: request.token, secret: request.secret };
    },

    async complete(flow, verifier) {
      const access = await timed('oauth/access_token', () => client.accessToken({ token: flow.handle, secret: flow.secret }, verifier));
      const profile = await timed('1.1/account/verify_credentials.json', () => client.verifyCredentials(access));
      return {
        // With email off, no address is kept even if X sent one.
        profile: options.email === 'off' ? { ...profile, email: null } : profile,
        credentials: { protocol: 'oauth1', token: access.token, secret: access.secret },
      };
    },

    async revoke(credentials) {
      if (credentials.protocol !== 'oauth1' || credentials.secret === null) {
        throw new AppError('internal_error', 'these credentials were issued under OAuth 2.0; the OAuth 1.0a client cannot revoke them');
      }
      const access = { token: credentials.token, secret: credentials.secret };
      await timed('1.1/oauth/invalidate_token', () => client.invalidateToken(access));
    },

    checkClock: () => client.checkClock(),
  };
}
