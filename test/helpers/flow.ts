// Drives the browser side of a sandbox sign-in, one hop at a time.
import { APP_ORIGIN, type Roost } from './roost.js';
import { readConsentForm, type Browser, type Hop } from './browser.js';

export interface ConsentOptions {
  readonly returnTo?: string;
  /** Index into the sandbox users (default 0). */
  readonly user?: number;
  readonly action?: 'approve' | 'cancel';
  /** More /login parameters, such as the PKCE ones. */
  readonly loginQuery?: Record<string, string>;
}

/** /login → the provider's consent page → the decision; returns the callback URL the provider sends the browser to. */
export async function consent(browser: Browser, roost: Roost, options: ConsentOptions = {}): Promise<{ login: Hop; callbackUrl: string }> {
  const returnTo = options.returnTo ?? `${APP_ORIGIN}/signed-in`;
  const query = new URLSearchParams({ return_to: returnTo, ...options.loginQuery });
  const login = await browser.get(`${roost.url}/login?${query}`);
  if (login.status !== 302 || !login.location) throw new Error(`/login answered ${login.status}: ${login.body}`);
  const page = await browser.get(login.location);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}`);
  const form = readConsentForm(page.body);
  const userId = roost.users[options.user ?? 0]?.id_str as string;
  const decision = await browser.postForm(new URL(form.action ?? '', login.location).href, {
    ...form.hidden,
    user_id: userId,
    action: options.action ?? 'approve',
  });
  if (decision.status !== 302 || !decision.location) throw new Error(`consent answered ${decision.status}: ${decision.body}`);
  return { login, callbackUrl: decision.location };
}

/** A whole sign-in; returns roost's answer to the callback. */
export async function signIn(browser: Browser, roost: Roost, options: ConsentOptions = {}): Promise<Hop> {
  const { callbackUrl } = await consent(browser, roost, options);
  return browser.get(callbackUrl);
}
