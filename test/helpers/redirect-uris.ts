// Registered redirect URIs for unit tests, as config.ts reads RETURN_TO_URLS.
import { parseRedirectUri, type RedirectUri } from '../../src/sign-in/redirect-uris.js';

/** Each entry parsed; a test that registers a bad entry fails at once. */
export function registered(entries: readonly string[]): RedirectUri[] {
  return entries.map((raw) => {
    const parsed = parseRedirectUri(raw);
    if (!parsed.ok) throw new Error(`${raw}: ${parsed.reason}`);
    return parsed.uri;
  });
}
