// The sandbox's HTML: the consent page X shows at oauth/authenticate (1.0a)
// and i/oauth2/authorize (2.0), and its error page. Pure string builders;
// every value goes through escapeHtml.
import type { SandboxUser } from './users.js';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f5f8fa; color: #14171a; }
  main { max-width: 32rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 4px #0002; }
  .banner { margin: 0; padding: .75rem 1rem; background: #ffd54f; color: #3e2c00; text-align: center; font-weight: 600; }
  h1 { font-size: 1.4rem; margin-top: 0; }
  fieldset { border: 1px solid #ccd6dd; border-radius: 8px; padding: .5rem 1rem; }
  label { display: block; padding: .4rem 0; cursor: pointer; }
  .handle { color: #536471; }
  .actions { display: flex; gap: .75rem; margin-top: 1.25rem; }
  button { font: inherit; padding: .5rem 1.25rem; border-radius: 999px; border: 1px solid #1d9bf0; cursor: pointer; }
  button[value=approve] { background: #1d9bf0; color: #fff; }
  button[value=cancel] { background: #fff; color: #1d9bf0; }
  button:focus-visible, input:focus-visible { outline: 3px solid #0f1419; outline-offset: 2px; }
`;

function layout(title: string, body: string): string {
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
<p class="banner" role="note">Sandbox: this is roost's stand-in for Twitter. No real Twitter account is used.</p>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface AuthorizePageInput {
  /**
   * What the form carries back beside the choice: the request token under
   * 1.0a; nothing under 2.0, whose whole request stays in the page URL the
   * form posts back to.
   */
  readonly hiddenFields?: Readonly<Record<string, string>>;
  /** Where the browser goes after the choice; already checked to be an absolute http(s) URL. */
  readonly redirectTo: string;
  readonly users: readonly SandboxUser[];
  /** The OAuth 2.0 scopes asked for, listed as X lists them; none under 1.0a. */
  readonly scopes?: readonly string[];
}

/** Twitter's "Authorize app" page, for either protocol: pick who you are, then Approve or Cancel. */
export function renderAuthorizePage(input: AuthorizePageInput): string {
  const destination = new URL(input.redirectTo).origin;
  const hidden = Object.entries(input.hiddenFields ?? {})
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">\n`)
    .join('');
  const choices = input.users
    .map(
      (user, index) => `<label><input type="radio" name="user_id" value="${escapeHtml(user.id_str)}"${index === 0 ? ' checked' : ''}> ${escapeHtml(user.name)} <span class="handle">@${escapeHtml(user.screen_name)}</span></label>`,
    )
    .join('\n');
  const scopes =
    input.scopes === undefined || input.scopes.length === 0
      ? ''
      : `<p>It asks for: ${input.scopes.map((scope) => `<code>${escapeHtml(scope)}</code>`).join(', ')}.</p>\n`;
  // No action attribute: the form posts back to this same URL, query included (HTML §4.10.21.3).
  return layout(
    'Authorize access to your account',
    `<h1>Authorize roost to use your account?</h1>
${scopes}<p>After you choose, you will be sent back to <strong>${escapeHtml(destination)}</strong>.</p>
<form method="post">
${hidden}<fieldset>
<legend>Sign in as</legend>
${choices}
</fieldset>
<div class="actions">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</div>
</form>`,
  );
}

export function renderErrorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}
