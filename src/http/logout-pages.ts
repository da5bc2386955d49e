// The pages of RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0
// §2, §3): the question asked when a request names no ID token (the person
// confirms with a same-origin form, which a forged cross-site one cannot
// be, its browser session cookie being SameSite=Lax), and the answer when no
// client asked to get the person back.
import { escapeHtml } from './html.js';

// No script, no outside resource; the confirmation form posts to roost itself.
export const LOGOUT_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The confirmation page's policy: form-action governs the redirects that
 * follow a form's submission too, so the registered post_logout_redirect_uri
 * the answer goes to is allowed beside roost itself.
 */
export function confirmPageCsp(redirectOrigin: string | undefined): string {
  return redirectOrigin === undefined ? LOGOUT_PAGE_CSP : LOGOUT_PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${redirectOrigin}`);
}

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2328}button{font:inherit;padding:.4rem 1rem}';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export function signedOutPage(): string {
  return page('Signed out', '<p>You are signed out of roost. Apps you signed in to keep their own sessions until they end them.</p>');
}

/** `fields`: the request's own parameters, sent again with the answer. */
export function confirmLogoutPage(action: string, fields: Readonly<Record<string, string>>, clientName: string | undefined): string {
  const hidden = Object.entries({ ...fields, confirm: 'yes' })
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const asker = clientName === undefined ? 'An app' : escapeHtml(clientName);
  return page(
    'Sign out?',
    `<p>${asker} asks to sign you out of roost, and out of the apps you signed in to through it in this browser.</p>
<form method="post" action="${escapeHtml(action)}">
${hidden}
<button type="submit">Sign out</button>
</form>`,
  );
}
