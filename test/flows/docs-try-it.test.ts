// The reference page in a real browser, on a roost that does not listen on
// the document's default port: /docs renders without a CSP violation or a
// console error, starts with the operations rather than pages of prose,
// pre-fills no request header, and "Try it out" → "Execute" reaches the
// roost that served the page (PUBLIC_URL, the served document's one server).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import t from 'tap';
import { startRoost } from '../helpers/roost.js';

const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const VIEWPORT = { width: 1000, height: 800 };

if (!existsSync(CHROMIUM)) {
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser test`;
  // CI must never pass without having run the browser.
  if (inCi) t.fail(why);
  else t.plan(0, why);
} else {
  await docsTests();
}

async function docsTests(): Promise<void> {
  const roost = await startRoost(t);
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());

  /** A fresh page on /docs/ that records console errors, script errors and CSP violations. */
  async function openDocs(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: VIEWPORT });
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.text().startsWith('securitypolicyviolation')) problems.push(message.text());
    });
    // Chromium reports a violation on the console too; the event names the directive even where it does not.
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (event) => console.warn(`securitypolicyviolation ${event.effectiveDirective} ${event.blockedURI}`));",
    );
    await page.goto(`${roost.url}/docs/`);
    await page.locator('.opblock').first().waitFor();
    return { page, problems };
  }

  /** An operation's block, expanded, in "Try it out" mode. */
  async function tryItOut(page: Page, tag: string, operationId: string): Promise<Locator> {
    const block = page.locator(`#operations-${tag}-${operationId}`);
    await block.locator('.opblock-summary-control').click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    await block.getByRole('button', { name: 'Execute' }).waitFor();
    return block;
  }

  /** Executes the operation and returns the status and request URL the page shows. */
  async function execute(block: Locator): Promise<{ status: string; requestUrl: string }> {
    await block.getByRole('button', { name: 'Execute' }).click();
    const status = block.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    return { status: ((await status.textContent()) ?? '').trim(), requestUrl: ((await block.locator('.request-url pre').textContent()) ?? '').trim() };
  }

  t.test('Try it out → Execute on GET /healthz and GET /.well-known/jwks.json: 200 from this roost, no console error', async (t) => {
    t.not(new URL(roost.url).port, '3000', 'roost is not on the document\'s default port');
    const { page, problems } = await openDocs();
    t.equal(await page.locator('.servers select').inputValue(), roost.url, 'the one server offered is PUBLIC_URL');
    t.same(await page.locator('.servers select option').allTextContents(), [roost.url]);

    const health = await tryItOut(page, 'service', 'getHealth');
    t.same(await execute(health), { status: '200', requestUrl: `${roost.url}/healthz` });
    t.match(await health.locator('.live-responses-table .response .response-col_description').first().textContent(), /"status": "ok"/);

    const jwks = await tryItOut(page, 'keys', 'getJwks');
    t.equal(await jwks.locator('tr[data-param-name="If-None-Match"] input').inputValue(), '', 'If-None-Match is not pre-filled');
    t.same(await execute(jwks), { status: '200', requestUrl: `${roost.url}/.well-known/jwks.json` });
    t.notMatch(await jwks.locator('.curl-command').textContent(), /If-None-Match/i, 'and not sent');

    t.same(problems, [], 'no console error, script error or CSP violation');
    await page.close();
  });

  t.test('the page starts with the operations, and no operation pre-fills a request header', async (t) => {
    const { page, problems } = await openDocs();
    const first = await page.locator('.opblock-tag-section').first().boundingBox();
    t.ok(first && first.y < VIEWPORT.height, `the first group of operations starts in the first screen (at ${first?.y} px)`);

    const withHeaders = await operationsWithHeaderParameters();
    t.ok(withHeaders.length > 0, `operations with header parameters: ${withHeaders.map(({ operationId }) => operationId).join(', ')}`);
    const prefilled: string[] = [];
    for (const { tag, operationId } of withHeaders) {
      const block = await tryItOut(page, tag, operationId);
      const rows = await block.locator('tr[data-param-in="header"]').all();
      t.ok(rows.length > 0, `${operationId} shows its header inputs`);
      for (const row of rows) {
        const value = await row.locator('input, textarea, select').first().inputValue();
        if (value !== '') prefilled.push(`${operationId} ${await row.getAttribute('data-param-name')}: ${value}`);
      }
    }
    t.same(prefilled, [], 'every header input starts empty');
    t.same(problems, [], 'no console error, script error or CSP violation');
    await page.close();
  });

  /** The operations of the served document with a header parameter, as Swagger UI names their blocks. */
  async function operationsWithHeaderParameters(): Promise<{ tag: string; operationId: string }[]> {
    type Operation = { tags?: string[]; operationId?: string; parameters?: { in?: string; $ref?: string }[] };
    const document = (await (await fetch(`${roost.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
      components?: { parameters?: Record<string, { in?: string }> };
    };
    const located = (parameter: { in?: string; $ref?: string }) => parameter.$ref ? document.components?.parameters?.[parameter.$ref.split('/').pop() ?? '']?.in : parameter.in;
    return Object.values(document.paths)
      .flatMap((item) => Object.values(item))
      .filter((operation) => (operation.parameters ?? []).some((parameter) => located(parameter) === 'header'))
      .map((operation) => ({ tag: operation.tags?.[0] ?? 'default', operationId: operation.operationId ?? '' }));
  }
}
