// Drives complete browser sign-ins, as many at once as asked, for a fixed
// time: GET /login → the provider's authenticate URL → roost's callback →
// the token in the fragment, verified; or, in the code mode (PKCE, RFC
// 7636), a one-time code in the query, redeemed at POST /token by the app.
// Each virtual browser starts every sign-in with an empty cookie jar and
// reuses keep-alive connections, as a browser does. Timings are per step,
// from the browser's side.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface FlowRunOptions {
  /** roost, or the floor: anything that answers roost's URLs. */
  readonly serverUrl: string;
  readonly providerUrl: string;
  /** Where the app wants its user back; must be one of roost's RETURN_TO_URLS. */
  readonly returnTo: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** Per request; a slower answer counts as a timeout error. */
  readonly timeoutMs: number;
  /** Rejects when the token is not one roost should have issued. */
  readonly verifyToken: (token: string) => Promise<void>;
  /** 'code': ask for a code (S256 challenge) and redeem it; default 'fragment': tokens in the fragment. */
  readonly mode?: 'fragment' | 'code';
  /** Each browser stops after this many sign-ins, or at the end of durationMs. */
  readonly flowsPerBrowser?: number;
  /** The cookie the server binds the flow with, carried from /login to the callback; default roost_flow. */
  readonly cookie?: string;
  /** Whether the server hands out a refresh token beside the access token; default true. */
  readonly refreshTokens?: boolean;
}

/** One complete sign-in, in milliseconds per step. */
export interface FlowSample {
  /** GET /login, including roost's request_token call to the provider. */
  readonly login: number;
  /** The browser at the provider's authenticate URL. */
  readonly authenticate: number;
  /** GET /login/callback, including roost's access_token and verify_credentials calls. */
  readonly callback: number;
  /** The code mode: POST /token with grant_type=authorization_code; 0 in the fragment mode. */
  readonly redeem: number;
  /** The app verifying the token against the JWKS. */
  readonly verify: number;
  readonly total: number;
  /** The request token, which keys the provider's own timings of this flow. */
  readonly requestToken: string;
  readonly accessToken: string;
  /** Empty when the server hands out none (refreshTokens: false). */
  readonly refreshToken: string;
}

export interface FlowRunResult {
  readonly samples: FlowSample[];
  /** Failed sign-ins by kind, e.g. "callback: HTTP 503 store_unavailable". */
  readonly errors: Record<string, number>;
  /** From the first start to the last sign-in's end. */
  readonly elapsedMs: number;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export class FlowError extends Error {}

/** One browser's sign-ins, one at a time or many at once, over keep-alive connections of its own. */
export interface SignInClient {
  signIn(): Promise<FlowSample>;
  close(): void;
}

export function createSignInClient(options: Omit<FlowRunOptions, 'concurrency' | 'durationMs' | 'flowsPerBrowser'> & { readonly maxSockets: number }): SignInClient {
  const serverAgent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const providerAgent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const codeMode = options.mode === 'code';
  const cookieName = options.cookie ?? 'roost_flow';
  const withRefreshToken = options.refreshTokens ?? true;
  const loginUrl = new URL(`/login?return_to=${encodeURIComponent(options.returnTo)}`, options.serverUrl);
  const tokenUrl = new URL('/token', options.serverUrl);
  const authenticatePrefix = `${options.providerUrl}/oauth/authenticate?`;
  const callbackPrefix = `${options.serverUrl}/login/callback?`;

  const oneFlow = async (): Promise<FlowSample> => {
    const verifier = codeMode ? randomBytes(32).toString('base64url') : '';
    const url = codeMode ? new URL(`${loginUrl.href}&code_challenge=${s256(verifier)}&code_challenge_method=S256`) : loginUrl;
    const t0 = performance.now();
    const login = await step('login', get(serverAgent, url, {}, options.timeoutMs));
    const t1 = performance.now();
    if (login.status !== 302) throw new FlowError(`login: HTTP ${login.status}${problemCode(login)}`);
    const toProvider = login.headers.location ?? '';
    if (!toProvider.startsWith(authenticatePrefix)) throw new FlowError('login: redirect is not to the provider');
    const cookie = flowCookie(login.headers['set-cookie'], cookieName);
    if (cookie === undefined) throw new FlowError(`login: no ${cookieName} cookie`);
    const authenticateUrl = new URL(toProvider);
    const requestToken = authenticateUrl.searchParams.get('oauth_token') ?? '';

    const authenticate = await step('authenticate', get(providerAgent, authenticateUrl, {}, options.timeoutMs));
    const t2 = performance.now();
    const toCallback = authenticate.headers.location ?? '';
    if (authenticate.status !== 302 || !toCallback.startsWith(callbackPrefix)) {
      throw new FlowError(`authenticate: HTTP ${authenticate.status}`);
    }

    const callback = await step('callback', get(serverAgent, new URL(toCallback), { cookie }, options.timeoutMs));
    const t3 = performance.now();
    if (callback.status !== 302) throw new FlowError(`callback: HTTP ${callback.status}${problemCode(callback)}`);
    const toApp = callback.headers.location ?? '';
    let tokens: URLSearchParams;
    let t4 = t3;
    if (codeMode) {
      if (!toApp.startsWith(`${options.returnTo}?`)) throw new FlowError('callback: redirect is not to return_to');
      const code = new URL(toApp).searchParams.get('code');
      if (code === null) throw new FlowError(`callback: no code (${new URL(toApp).searchParams.get('error') ?? 'no error'})`);
      const form = new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: options.returnTo });
      const redeemed = await step('redeem', post(serverAgent, tokenUrl, form.toString(), options.timeoutMs));
      t4 = performance.now();
      if (redeemed.status !== 200) throw new FlowError(`redeem: HTTP ${redeemed.status}${problemCode(redeemed)}`);
      tokens = new URLSearchParams(Object.entries(JSON.parse(redeemed.body) as Record<string, unknown>).map(([name, value]): [string, string] => [name, String(value)]));
    } else {
      if (!toApp.startsWith(`${options.returnTo}#`)) throw new FlowError('callback: redirect is not to return_to');
      tokens = new URLSearchParams(toApp.slice(toApp.indexOf('#') + 1));
    }
    const accessToken = tokens.get('access_token');
    const refreshToken = tokens.get('refresh_token');
    if (accessToken === null || (withRefreshToken && refreshToken === null) || tokens.get('token_type') !== 'Bearer') {
      throw new FlowError(`callback: no token (${tokens.get('error') ?? 'no error'})`);
    }

    try {
      await options.verifyToken(accessToken);
    } catch (error) {
      throw new FlowError(`verify: ${(error as { code?: string }).code ?? (error as Error).message}`);
    }
    const t5 = performance.now();
    return { login: t1 - t0, authenticate: t2 - t1, callback: t3 - t2, redeem: t4 - t3, verify: t5 - t4, total: t5 - t0, requestToken, accessToken, refreshToken: refreshToken ?? '' };
  };

  return {
    signIn: oneFlow,
    close: () => {
      serverAgent.destroy();
      providerAgent.destroy();
    },
  };
}

export async function runFlows(options: FlowRunOptions): Promise<FlowRunResult> {
  const client = createSignInClient({ ...options, maxSockets: options.concurrency });
  const samples: FlowSample[] = [];
  const errors: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + options.durationMs;

  const browser = async () => {
    for (let flows = 0; flows < (options.flowsPerBrowser ?? Infinity) && performance.now() < deadline; flows++) {
      try {
        samples.push(await client.signIn());
      } catch (error) {
        const kind = error instanceof FlowError ? error.message : `unexpected: ${(error as Error).message}`;
        errors[kind] = (errors[kind] ?? 0) + 1;
        // Do not spin when roost or the provider is refusing connections.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, browser));
  } finally {
    client.close();
  }
  return { samples, errors, elapsedMs: performance.now() - started };
}

/** Turns a transport failure into an error kind named after its step. */
export async function step(name: string, pending: Promise<Answer>): Promise<Answer> {
  try {
    return await pending;
  } catch (error) {
    throw new FlowError(`${name}: ${(error as { code?: string }).code ?? (error as Error).message}`);
  }
}

export function get(agent: Agent, url: URL, headers: OutgoingHttpHeaders, timeoutMs: number): Promise<Answer> {
  return send(agent, url, 'GET', headers, undefined, timeoutMs);
}

/** A form-encoded POST, as an OAuth client sends to a token endpoint (RFC 6749 §3.2). */
export function post(agent: Agent, url: URL, form: string, timeoutMs: number): Promise<Answer> {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) };
  return send(agent, url, 'POST', headers, form, timeoutMs);
}

function send(agent: Agent, url: URL, method: string, headers: OutgoingHttpHeaders, body: string | undefined, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The `name=value` part of the flow's Set-Cookie, as a browser would send it back. */
export function flowCookie(setCookie: string[] | undefined, name: string): string | undefined {
  const line = setCookie?.find((value) => value.startsWith(`${name}=`));
  return line?.split(';', 1)[0];
}

/** RFC 7636 §4.2: the S256 challenge of a verifier. */
function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function problemCode(answer: Answer): string {
  try {
    const code = (JSON.parse(answer.body) as { code?: unknown }).code;
    return typeof code === 'string' ? ` ${code}` : '';
  } catch {
    return '';
  }
}
