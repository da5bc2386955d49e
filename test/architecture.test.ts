// The import rules of docs/architecture.md (.dependency-cruiser.cjs): every
// rule refuses the import it is about, with a message that names the rule,
// and no file outside the entry points touches the process global.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

/** One file of a made-up tree per rule, each breaking exactly that rule. */
const BREAKS: Record<string, Record<string, string>> = {
  'domain-knows-no-http': { 'src/sign-in/flow.ts': "import '../http/bearer.js';" },
  'fastify-only-at-the-edge': { 'src/config.ts': "import 'fastify';" },
  'only-the-assembly-mounts-the-sandbox': { 'src/http/routes/home.ts': "import '../../sandbox/pages.js';" },
  'sandbox-stands-alone': { 'src/sandbox/provider.ts': "import '../errors.js';" },
  'environment-read-only-at-entry-points': { 'src/ops/logger.ts': "import 'node:process';" },
  'entry-points-are-not-imported': { 'src/deps.ts': "import './cli/keys.js';" },
  'domain-does-not-reach-the-composition': { 'src/keys/key-ring.ts': "import '../deps.js';" },
  'contract-stands-first': { 'src/contract/openapi.ts': "import '../errors.js';" },
  'production-code-stays-out-of-tests': { 'src/users/profiles.ts': "import '../../test/helpers/roost.js';" },
  'no-dev-dependencies-in-production': { 'src/store/db.ts': "import 'tap';" },
  'no-circular': { 'src/sessions/grants.ts': "import './policy.js';", 'src/sessions/policy.ts': "import './grants.js';" },
  'not-to-unresolvable': { 'src/twitter/client.ts': "import './gone.js';" },
};

/** Files the broken imports point at, so that only the rule under test is broken. */
const TARGETS = [
  'src/http/bearer.ts',
  'src/sandbox/pages.ts',
  'src/errors.ts',
  'src/cli/keys.ts',
  'src/deps.ts',
  'test/helpers/roost.ts',
];

async function cruise(tree: Record<string, string>): Promise<{ code: number; out: string }> {
  // Inside the project, so that packages resolve from its node_modules.
  const dir = path.join(ROOT, 'test-artifacts', `architecture-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    for (const [file, text] of Object.entries({ ...Object.fromEntries(TARGETS.map((file) => [file, 'export {};'])), ...tree })) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), `${text}\n`);
    }
    writeFileSync(path.join(dir, 'tsconfig.json'), readFileSync(path.join(ROOT, 'tsconfig.json')));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', dependencies: { fastify: '*' }, devDependencies: { tap: '*' } }));
    try {
      const { stdout } = await promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG], { cwd: dir });
      return { code: 0, out: stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, out: failed.stdout + failed.stderr };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('every rule refuses the import it is about, naming the rule', async (t) => {
  const clean = await cruise({});
  t.equal(clean.code, 0, `the scaffolding alone breaks no rule:\n${clean.out}`);
  const results = await Promise.all(Object.entries(BREAKS).map(async ([rule, tree]) => [rule, tree, await cruise(tree)] as const));
  for (const [rule, tree, { code, out }] of results) {
    const [from] = Object.keys(tree);
    t.not(code, 0, `${rule}: the import fails the check`);
    t.match(out, new RegExp(`error ${rule}: ${from!.replace(/[.]/g, '\\.')}`), `${rule}: the message names the rule and the importing file`);
    const named = [...out.matchAll(/error ([a-z-]+):/g)].map((match) => match[1]);
    t.same([...new Set(named)], [rule], `${rule}: no other rule fires`);
  }
});

t.test('the rule set and docs/architecture.md name the same rules', async (t) => {
  const config = readFileSync(CONFIG, 'utf8');
  const configured = [...config.matchAll(/name: '([a-z-]+)'/g)].map((match) => match[1]).sort();
  t.same(configured, Object.keys(BREAKS).sort(), 'each configured rule has a breaking example above');
  const documented = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  for (const rule of configured) t.match(documented, `\`${rule}\``, `docs/architecture.md explains ${rule}`);
});

/** Where a source file touches the `process` global (process.env, process.exit, …), as line numbers. */
function processUses(text: string, fileName: string): number[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'process') {
      const parent = node.parent;
      // A property named `process` (`{ process: … }`, `x.process`) is not the global.
      const isMemberName = (ts.isPropertyAccessExpression(parent) && parent.name === node) || (ts.isPropertyAssignment(parent) && parent.name === node);
      if (!isMemberName) lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}

t.test('processUses finds the global however it is reached, and nothing else', async (t) => {
  t.same(processUses('const a = process.env.PORT;', 'a.ts'), [1]);
  t.same(processUses("const { env } = process;\nconst b = process['env'];", 'a.ts'), [1, 2]);
  t.same(processUses('const c = { process: 1 }; c.process; // process.env in a comment', 'a.ts'), []);
  t.same(processUses("const s = 'process.env';", 'a.ts'), []);
});

t.test('only src/server.ts and src/cli/ touch the process global', async (t) => {
  const allowed = /^src\/(server\.ts$|cli\/)/;
  const offenders: string[] = [];
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(`${dir}/${entry.name}`) : /\.(ts|js)$/.test(entry.name) ? [`${dir}/${entry.name}`] : [],
    );
  const files = walk('src').filter((file) => !file.startsWith('src/home/'));
  t.ok(files.length > 50, 'the walk sees the source tree');
  for (const file of files.filter((file) => !allowed.test(file))) {
    for (const line of processUses(readFileSync(path.join(ROOT, file), 'utf8'), file)) offenders.push(`${file}:${line}`);
  }
  t.same(offenders, [], 'environment-read-only-at-entry-points: take what you need from Config instead');
  t.ok(files.filter((file) => allowed.test(file)).some((file) => processUses(readFileSync(path.join(ROOT, file), 'utf8'), file).length > 0), 'the entry points are seen reading it');
});
