// A minimal browser for tests: a cookie jar and manual redirects, so each
// hop of the sign-in flow can be looked at.

export interface Hop {
  readonly status: number;
  readonly location: string | null;
  readonly headers: Headers;
  readonly body: string;
}

export class Browser {
  readonly cookies = new Map<string, string>();

  /** Headers sent with every request, such as those a proxy in front of roost adds. */
  constructor(private readonly always: Record<string, string> = {}) {}

  async request(url: string, init: RequestInit = {}): Promise<Hop> {
    const headers = new Headers({ ...this.always, ...Object.fromEntries(new Headers(init.headers)) });
    const jar = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (jar) headers.set('cookie', jar);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, ...rest] = (pair ?? '').split('=');
      const value = rest.join('=');
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (!name) continue;
      if (expired || value === '') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return { status: response.status, location: response.headers.get('location'), headers: response.headers, body: await response.text() };
  }

  get(url: string, headers?: Record<string, string>): Promise<Hop> {
    return this.request(url, headers ? { headers } : {});
  }

  postForm(url: string, form: Record<string, string>): Promise<Hop> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }
}

/** The fields of the sandbox's consent form. */
export function readConsentForm(html: string): { action: string | undefined; token: string; userIds: string[]; hidden: Record<string, string> } {
  const token = /name="oauth_token"\s+value="([^"]+)"|value="([^"]+)"\s+name="oauth_token"/.exec(html);
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
  const userIds = [...html.matchAll(/name="user_id"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="user_id"/g)].map((m) => (m[1] ?? m[2]) as string);
  // Every hidden field goes back with the decision, as a browser would send it.
  const hidden: Record<string, string> = {};
  for (const [input] of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input)?.[1];
    const value = /value="([^"]*)"/.exec(input)?.[1];
    if (name !== undefined && value !== undefined) hidden[unescapeHtml(name)] = unescapeHtml(value);
  }
  return { action, token: (token?.[1] ?? token?.[2]) as string, userIds, hidden };
}

function unescapeHtml(value: string): string {
  return value.replace(/&#(\d+);/g, (_match, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** Parses the fragment of a redirect back to the app. */
export function fragmentOf(location: string | null): URLSearchParams {
  if (!location) throw new Error('no Location header');
  const index = location.indexOf('#');
  return new URLSearchParams(index === -1 ? '' : location.slice(index + 1));
}
