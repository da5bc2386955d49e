// A refused sign-in, as a person sees it. The browser routes (/login and its
// callback) answer a browser that asks for HTML with this small page rather
// than the problem+json an API client reads: what happened, what to do, and
// links back to the apps that use this roost.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { AppError } from '../errors.js';
import { escapeHtml } from './html.js';
import { logProblem, toAppError } from './problems.js';

// No script, no outside resource; the one inline style block is all the page has.
export const PROBLEM_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** A browser navigating sends `Accept: text/html,…`; fetch() and API clients send `*\/*` or JSON. */
export function wantsPage(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/** The origins of the registered redirect URIs: the apps a page can send a person back to. */
export function registeredApps(config: Pick<Config, 'returnToUrls'>): string[] {
  return [...new Set(config.returnToUrls.map((uri) => uri.origin))];
}

/** `heading`: what did not finish, as the person sees it. */
export function problemPage(error: AppError, apps: readonly string[], heading = 'Sign-in did not finish'): string {
  const links = apps.map((origin) => `<li><a href="${escapeHtml(origin)}/">${escapeHtml(origin)}</a></li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(heading)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2328}code{font-size:.9em}p.code{color:#59636e}</style>
</head>
<body>
<main>
<h1>${escapeHtml(heading)}</h1>
<p>${escapeHtml(error.detail.replace(/\.$/, ''))}.</p>
<p>Go back to the app you came from${heading === 'Sign-in did not finish' ? ' and sign in again' : ''}.</p>
${links === '' ? '' : `<ul>${links}</ul>`}
<p class="code">Error code: <code>${escapeHtml(error.code)}</code> (${error.status})</p>
</main>
</body>
</html>
`;
}

export function sendProblemPage(reply: FastifyReply, error: AppError, apps: readonly string[], heading?: string): FastifyReply {
  return reply
    .status(error.status)
    .headers(error.headers)
    .header('cache-control', 'no-store')
    .header('content-security-policy', PROBLEM_PAGE_CSP)
    .type('text/html; charset=utf-8')
    .send(problemPage(error, apps, heading));
}

/**
 * In this plugin's routes (the ones a browser navigates or posts a form to),
 * an error is answered with the page when the browser asks for HTML; any
 * other client gets the app's problem+json, from the parent handler.
 */
export function answerBrowsersWithPages(app: FastifyInstance, apps: readonly string[], heading?: string): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (!wantsPage(request)) throw error;
    const appError = toAppError(error, request);
    logProblem(request, appError, error);
    return sendProblemPage(reply, appError, apps, heading);
  });
}
