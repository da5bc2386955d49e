// Registered redirect URIs (RETURN_TO_URLS): the only places a browser may
// be sent with roost's answer. Matching is exact string comparison (RFC 9700
// §4.1.3): scheme, host, port, path and query as registered, nothing added,
// no fragment. The one exception is RFC 8252 §7.3: on an `http` loopback
// entry any port matches, because a native app or a dev server picks its
// port when it starts.

export interface RedirectUri {
  /** The entry as the operator wrote it. */
  readonly written: string;
  /** The same URL after WHATWG parsing (`https://app.test` becomes `https://app.test/`); either form matches. */
  readonly href: string;
  readonly origin: string;
  readonly hostname: string;
  readonly pathname: string;
  readonly search: string;
  /** An `http://localhost`, `http://127.0.0.1` or `http://[::1]` entry: any port matches. */
  readonly loopback: boolean;
}

type Parsed = { readonly ok: true; readonly uri: RedirectUri } | { readonly ok: false; readonly reason: string };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
// The authority of a loopback URL, port included: what a loopback match ignores.
// What may follow it: a path, a query, roost's answer in the fragment, or nothing.
const LOOPBACK_PORT = /^(http:\/\/(?:localhost|127\.0\.0\.1|\[::1\]))(?::\d{0,5})?(?=[/?#]|$)/i;

/** One RETURN_TO_URLS entry, checked: an absolute http(s) URL without credentials or fragment. */
export function parseRedirectUri(raw: string): Parsed {
  if (/[\u0000-\u0020\u007f-\u00a0\\]/u.test(raw)) return { ok: false, reason: 'contains whitespace, control characters or backslashes' };
  if (!/^https?:\/\/[^/]/i.test(raw)) return { ok: false, reason: 'must be an absolute http or https URL' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not a valid URL' };
  }
  if (url.username !== '' || url.password !== '' || /^https?:\/\/[^/?#]*@/i.test(raw)) return { ok: false, reason: 'must not contain credentials' };
  if (raw.includes('#')) return { ok: false, reason: 'must not contain a fragment (roost puts its answer there)' };
  // roost adds its answer after the entry's query: `?` or `&` at the end would be doubled.
  if (/[?&]$/.test(raw)) return { ok: false, reason: 'must not end with ? or &' };
  return {
    ok: true,
    uri: {
      written: raw,
      href: url.href,
      origin: url.origin,
      hostname: url.hostname,
      pathname: url.pathname,
      search: url.search,
      loopback: url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname),
    },
  };
}

/** The registered entry `candidate` is, character for character (any port on a loopback entry); undefined when none. */
export function findRedirectUri(candidate: string, registered: readonly RedirectUri[]): RedirectUri | undefined {
  const onLoopback = LOOPBACK_PORT.test(candidate);
  const withoutPort = candidate.replace(LOOPBACK_PORT, '$1');
  return registered.find((uri) => {
    if (candidate === uri.written || candidate === uri.href) return true;
    if (!uri.loopback || !onLoopback) return false;
    return withoutPort === uri.written.replace(LOOPBACK_PORT, '$1') || withoutPort === uri.href.replace(LOOPBACK_PORT, '$1');
  });
}

/**
 * Whether a URL roost built from a registered entry still points at that
 * entry: the entry itself (any port on a loopback entry), then nothing, or
 * roost's answer: a fragment, or parameters added to the query.
 */
export function isRegisteredTarget(location: string, registered: readonly RedirectUri[]): boolean {
  if (/[\u0000-\u0020\u007f-\u00a0\\]/u.test(location) || !URL.canParse(location)) return false;
  const onLoopback = LOOPBACK_PORT.test(location);
  const withoutPort = location.replace(LOOPBACK_PORT, '$1');
  return registered.some((uri) =>
    [uri.written, uri.href].some((form) => {
      const [candidate, entry] = uri.loopback && onLoopback ? [withoutPort, form.replace(LOOPBACK_PORT, '$1')] : [location, form];
      if (!candidate.startsWith(entry)) return false;
      const next = candidate.charAt(entry.length);
      return next === '' || next === '#' || next === (entry.includes('?') ? '&' : '?');
    }),
  );
}
