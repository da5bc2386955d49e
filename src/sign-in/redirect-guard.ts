// The last check on every redirect roost sends, whichever route built it:
// the browser may go to X's sign-in page (1.0a authenticate, 2.0 authorize), to roost itself (a
// path, the same path on PUBLIC_URL, or its own callback from the built-in
// sandbox's consent page), or to a registered redirect URI (RETURN_TO_URLS,
// or a registered OpenID Connect client's) with roost's answer added. A route that forgets the return_to check fails closed here
// instead of becoming an open redirect (RFC 9700 §4.11).
import type { Config } from '../config.js';
import { isRegisteredTarget } from './redirect-uris.js';

export type RedirectConfig = Pick<Config, 'publicUrl' | 'returnToUrls'> & Partial<Pick<Config, 'oidc'>> & { readonly twitter: Pick<Config['twitter'], 'apiUrl' | 'authorizeUrl' | 'protocol'> };

// A path on roost itself: one slash, then no slash or backslash (browsers
// read `//host` and `/\host` as another host), and nothing a parser strips.
const OWN_PATH = /^\/(?![/\\])[^\\\u0000-\u0020\u007f]*$/;

export function isAllowedRedirect(location: string, config: RedirectConfig): boolean {
  const { twitter } = config;
  const xSignIn = twitter.protocol === 'oauth2' ? `${twitter.authorizeUrl}?` : `${twitter.apiUrl}/oauth/authenticate?`;
  if (location.startsWith(xSignIn)) return true;
  if (OWN_PATH.test(location)) return true;
  if (location.startsWith(`${config.publicUrl}/`) && OWN_PATH.test(location.slice(config.publicUrl.length))) return true;
  if (isRegisteredTarget(location, config.returnToUrls)) return true;
  // The OpenID Connect provider's registered clients: their redirect URIs and post-logout redirect URIs.
  return config.oidc !== undefined && config.oidc.clientList.some((client) => isRegisteredTarget(location, client.redirectUris) || isRegisteredTarget(location, client.postLogoutRedirectUris));
}
