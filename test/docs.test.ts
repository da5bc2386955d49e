// Documentation that cannot drift: every relative link and anchor in
// README.md, SECURITY.md and docs/ resolves, every page of docs/ is reachable
// from the README, the README stays a short front door, and
// docs/configuration.md describes exactly the variables src/config.ts reads.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';
import t from 'tap';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const markdown = new MarkdownIt({ html: true });

type Token = ReturnType<MarkdownIt['parse']>[number];

function* walk(tokens: readonly Token[]): Generator<Token> {
  for (const token of tokens) {
    yield token;
    if (token.children) yield* walk(token.children);
  }
}

/** The link targets of a Markdown text, code blocks and inline code aside. */
function linksOf(text: string): string[] {
  const links: string[] = [];
  for (const token of walk(markdown.parse(text, {}))) {
    if (token.type === 'link_open') links.push(token.attrGet('href') ?? '');
    if ((token.type === 'html_inline' || token.type === 'html_block') && token.content) {
      for (const match of token.content.matchAll(/\bhref="([^"]*)"/g)) links.push(match[1]!);
    }
  }
  return links;
}

/** The anchors GitHub gives a page's headings (and any explicit `<a id>`/`<a name>`). */
function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const tokens = markdown.parse(text, {});
  tokens.forEach((token, index) => {
    if (token.type === 'heading_open') {
      const inline = tokens[index + 1]!;
      const plain = [...walk(inline.children ?? [])]
        .filter((child) => child.type === 'text' || child.type === 'code_inline')
        .map((child) => child.content)
        .join('');
      anchors.add(slugger.slug(plain));
    }
  });
  for (const match of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

const isExternal = (href: string) => /^[a-z][a-z0-9+.-]*:/i.test(href);

/** What is wrong with each relative link of `file` (a path relative to the project root). */
function brokenLinks(file: string, read: (file: string) => string | undefined = readProject): string[] {
  const text = read(file);
  if (text === undefined) return [`${file}: missing`];
  const problems: string[] = [];
  for (const href of linksOf(text)) {
    if (href === '' || isExternal(href)) continue;
    const [target = '', anchor] = href.split('#', 2) as [string, string | undefined];
    const targetFile = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(target)));
    if (targetFile.startsWith('..')) {
      problems.push(`${file}: ${href} leaves the repository`);
      continue;
    }
    const targetText = read(targetFile);
    if (targetText === undefined && !isDirectory(targetFile)) {
      problems.push(`${file}: ${href} → ${targetFile} does not exist`);
      continue;
    }
    if (anchor !== undefined) {
      if (!targetFile.endsWith('.md') || targetText === undefined) problems.push(`${file}: ${href} has an anchor into a file that is not a page`);
      else if (!anchorsOf(targetText).has(anchor)) problems.push(`${file}: ${href} → no heading "#${anchor}" in ${targetFile}`);
    }
  }
  return problems;
}

function readProject(file: string): string | undefined {
  const full = path.join(ROOT, file);
  return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
}

function isDirectory(file: string): boolean {
  const full = path.join(ROOT, file);
  return existsSync(full) && statSync(full).isDirectory();
}

const docsPages = readdirSync(path.join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`)
  .sort();
const pages = ['README.md', 'SECURITY.md', ...docsPages];

t.test('the link checker finds what is broken', async (t) => {
  const files: Record<string, string> = {
    'README.md': '# roost\n\n## Try it\n\nSee [flow](docs/flow.md#the-code-flow-with-pkce) and [here](#try-it).\n',
    'docs/flow.md': '# The flow\n\n## The code flow with PKCE\n\n## Rotating `ENCRYPTION_KEY`\n',
    'docs/bad.md':
      '# Bad\n\n[gone](gone.md) [anchor](flow.md#no-such-heading) [self](#nope) [up](../../etc/passwd) [ok](flow.md#rotating-encryption_key)\n\n' +
      '```md\n[in code](ignored.md)\n```\n\n<a href="html.md">html</a>\n',
  };
  const read = (file: string) => files[file];
  t.same(brokenLinks('README.md', read), [], 'good links pass (a heading anchor, the page itself)');
  t.same(brokenLinks('docs/bad.md', read), [
    'docs/bad.md: gone.md → docs/gone.md does not exist',
    'docs/bad.md: flow.md#no-such-heading → no heading "#no-such-heading" in docs/flow.md',
    'docs/bad.md: #nope → no heading "#nope" in docs/bad.md',
    'docs/bad.md: ../../etc/passwd leaves the repository',
    'docs/bad.md: html.md → docs/html.md does not exist',
  ]);
  t.same([...anchorsOf('# A\n## Same\n## Same\n## Health and readiness\n## `TRUST_PROXY` behind a proxy\n')], [
    'a',
    'same',
    'same-1',
    'health-and-readiness',
    'trust_proxy-behind-a-proxy',
  ]);
});

t.test('every relative link and anchor resolves', async (t) => {
  t.ok(docsPages.length >= 8, `docs/ has its pages (${docsPages.join(', ')})`);
  for (const page of pages) t.same(brokenLinks(page), [], `${page}: every relative link resolves`);
});

t.test('the README is a front door to every page of docs/', async (t) => {
  const readme = readProject('README.md')!;
  t.ok(Buffer.byteLength(readme) < 15 * 1024, `README.md is under 15 KB (${Buffer.byteLength(readme)} bytes)`);
  t.match(readme, /^# roost\n\n```sh\nnpm install && npm start[^\n]*\nnpm ci && npm test[^\n]*\n```/, 'it starts with the two commands');
  const linked = new Set(linksOf(readme).map((href) => href.split('#')[0]));
  for (const page of docsPages) t.ok(linked.has(page), `README.md links ${page}`);
  t.ok(linked.has('SECURITY.md'), 'README.md links SECURITY.md');
});

/** The variables src/config.ts reads: every name it hands to its env reader, and NODE_ENV. */
function variablesRead(configSource: string): Set<string> {
  const names = new Set<string>();
  for (const match of configSource.matchAll(/\b(?:read|integer|boolean|httpUrl)\(\s*'([A-Z][A-Z0-9_]*)'/g)) names.add(match[1]!);
  for (const match of configSource.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(match[1]!);
  return names;
}

/** The variables a page documents: the backticked names in the first cell of its table rows. */
function variablesDocumented(page: string): Set<string> {
  const names = new Set<string>();
  for (const line of page.split('\n')) {
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1];
    if (firstCell === undefined) continue;
    for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(match[1]!);
  }
  return names;
}

t.test('the variable extractors see what they should', async (t) => {
  t.same([...variablesRead("const a = env.read('PORT');\nenv.integer(\n  'SESSION_TTL', 5);\nenv.production = env.NODE_ENV === 'x'; read(name)")].sort(), [
    'NODE_ENV',
    'PORT',
    'SESSION_TTL',
  ]);
  t.same([...variablesDocumented('| variable | default |\n|---|---|\n| `PORT` | `3000` |\n| `A_KEY`, `A_SECRET` | unset |\nprose `NOT_A_ROW`\n| x | `IN_SECOND_CELL` |')].sort(), [
    'A_KEY',
    'A_SECRET',
    'PORT',
  ]);
});

t.test('docs/configuration.md describes exactly the variables config.ts reads', async (t) => {
  const read = variablesRead(readProject('src/config.ts')!);
  const documented = variablesDocumented(readProject('docs/configuration.md')!);
  t.ok(read.size >= 30, `config.ts reads its variables (${read.size} found)`);
  t.same([...read].filter((name) => !documented.has(name)).sort(), [], 'every variable read is documented in docs/configuration.md');
  t.same([...documented].filter((name) => !read.has(name)).sort(), [], 'every variable documented is read by config.ts');
  for (const page of pages.filter((page) => page !== 'docs/configuration.md')) {
    const elsewhere = [...variablesDocumented(readProject(page)!)].filter((name) => read.has(name));
    t.same(elsewhere, [], `${page} leaves describing variables to docs/configuration.md`);
  }
});
