// The security headers every response carries: helmet's set (nosniff, frame
// and referrer policies, a CSP; HSTS when PUBLIC_URL is https). They depend
// on the configuration only, so helmet computes them once at start rather
// than once per request. The HTML pages set stricter CSPs of their own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export type SecurityHeaders = Readonly<Record<string, string>>;

export function securityHeaders(publicUrl: string): SecurityHeaders {
  const https = publicUrl.startsWith('https:');
  const middleware = helmet({
    contentSecurityPolicy: {
      directives: { frameAncestors: ["'none'"], ...(https ? {} : { upgradeInsecureRequests: null }) },
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  });
  const headers: Record<string, string> = {};
  const collector = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  // helmet's middleware is synchronous: next() has run when it returns.
  middleware({} as IncomingMessage, collector as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return Object.freeze(headers);
}
