// The import rules of docs/architecture.md (.dependency-cruiser.cjs): every
// rule refuses the import it is about, with a message that names the rule,
// and no file outside the entry points touches the process global.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import t from 'tap';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

/** Made-up trees, each breaking exactly one rule: every rule at least once, with each kind of file it names. */
const BREAKS: readonly (readonly [rule: string, tree: Record<string, string>])[] = [
  ['domain-knows-no-http', { 'src/sign-in/flow.ts': "import '../http/bearer.js';" }],
  ['domain-knows-no-http', { 'src/errors.ts': "export * from './http/html.js';" }],
  ['domain-knows-no-http', { 'src/oidc/claims.ts': "import type { RouteOptions } from '../http/route-options.js';" }],
  ['domain-knows-no-http', { 'src/cli/keys.ts': "import '../http/html.js';" }],
  ['domain-knows-no-http', { 'src/deps.ts': "import './app.js';" }],
  ['fastify-only-at-the-edge', { 'src/config.ts': "import type { FastifyInstance } from 'fastify';" }],
  ['fastify-only-at-the-edge', { 'src/ops/metrics.ts': "export { default } from '@fastify/cookie';" }],
  ['fastify-only-at-the-edge', { 'src/deps.ts': "await import('helmet');" }],
  ['only-the-assembly-mounts-the-sandbox', { 'src/http/routes/home.ts': "import '../../sandbox/pages.js';" }],
  ['only-the-assembly-mounts-the-sandbox', { 'src/deps.ts': "import type { SandboxUser } from './sandbox/users.js';" }],
  ['sandbox-stands-alone', { 'src/sandbox/provider.ts': "import '../errors.js';" }],
  ['sandbox-stands-alone', { 'src/sandbox/provider.ts': "import '../../migrations/index.js';" }],
  ['environment-read-only-at-entry-points', { 'src/ops/logger.ts': "import 'node:process';" }],
  ['environment-read-only-at-entry-points', { 'migrations/index.ts': "import { env } from 'process';" }],
  ['imports-are-visible', { 'src/keys/key-ring.ts': "import { createRequire } from 'node:module';" }],
  ['imports-are-visible', { 'src/cli/keys.ts': "import 'node:vm';" }],
  ['entry-points-are-not-imported', { 'src/deps.ts': "import './cli/keys.js';" }],
  ['entry-points-are-not-imported', { 'src/http/routes/me.ts': "import '../../server.js';" }],
  ['entry-points-are-not-imported', { 'src/cli/sessions.ts': "import './keys.js';" }],
  ['domain-does-not-reach-the-composition', { 'src/keys/key-ring.ts': "import '../deps.js';" }],
  ['domain-does-not-reach-the-composition', { 'src/config.ts': "import type { Deps } from './deps.js';" }],
  ['contract-stands-first', { 'src/contract/openapi.ts': "import '../errors.js';" }],
  ['store-is-the-ground', { 'src/store/redis-url.ts': "export * from '../sessions/policy.js';" }],
  ['migrations-are-frozen', { 'migrations/0001_initial.ts': "import '../src/errors.js';" }],
  ['home-is-served-not-imported', { 'src/keys/key-ring.ts': "import '../home/page.js';" }],
  ['production-code-stays-out-of-tests', { 'src/users/profiles.ts': "import '../../test/helpers/roost.js';" }],
  ['production-code-stays-out-of-tests', { 'migrations/index.ts': "import '../bench/run.js';" }],
  ['no-dev-dependencies-in-production', { 'src/store/db.ts': "import 'tap';" }],
  ['no-dev-dependencies-in-production', { 'migrations/index.ts': "import fc from 'fast-check';" }],
  ['no-undeclared-packages', { 'src/store/db.ts': "import 'avvio';" }],
  ['no-circular', { 'src/sessions/grants.ts': "import './policy.js';", 'src/sessions/policy.ts': "import './grants.js';" }],
  ['no-circular', { 'src/config.ts': "import './oidc/a.js';", 'src/oidc/a.ts': "import '../config.js';" }],
  ['not-to-unresolvable', { 'src/twitter/client.ts': "import './gone.js';" }],
];

/** Files the broken imports point at, so that only the rule under test is broken. */
const TARGETS = [
  'src/http/bearer.ts',
  'src/http/html.ts',
  'src/http/route-options.ts',
  'src/app.ts',
  'src/server.ts',
  'src/config.ts',
  'src/sandbox/pages.ts',
  'src/sandbox/users.ts',
  'src/errors.ts',
  'src/cli/keys.ts',
  'src/deps.ts',
  'src/sessions/policy.ts',
  'src/home/page.js',
  'migrations/index.ts',
  'test/helpers/roost.ts',
  'bench/run.ts',
];

const options = await extractDepcruiseOptions(CONFIG);

/** Runs the rule set over a scratch tree holding `tree` (plus TARGETS), as `npm run lint:architecture` would. */
async function cruiseTree(tree: Record<string, string>): Promise<{ code: number; out: string }> {
  // Inside the project, so that packages resolve from its node_modules.
  const dir = path.join(ROOT, 'test-artifacts', `architecture-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    for (const [file, text] of Object.entries({ ...Object.fromEntries(TARGETS.map((file) => [file, 'export {};'])), ...tree })) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), `${text}\n`);
    }
    writeFileSync(path.join(dir, 'tsconfig.json'), readFileSync(path.join(ROOT, 'tsconfig.json')));
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ type: 'module', dependencies: { fastify: '*', '@fastify/cookie': '*', helmet: '*' }, devDependencies: { tap: '*', 'fast-check': '*' } }),
    );
    const result = await cruise(['src', 'migrations'], { ...options, baseDir: dir, outputType: 'err-long' }, {}, { tsConfig: extractTSConfig(path.join(dir, 'tsconfig.json')) });
    return { code: result.exitCode, out: String(result.output) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('every rule refuses the import it is about, naming the rule', async (t) => {
  const clean = await cruiseTree({});
  t.equal(clean.code, 0, `the scaffolding alone breaks no rule:\n${clean.out}`);
  for (const [rule, tree] of BREAKS) {
    const { code, out } = await cruiseTree(tree);
    const [from] = Object.keys(tree);
    const example = `${rule} (${Object.values(tree).join(' ')})`;
    t.not(code, 0, `${example}: the import fails the check`);
    t.match(out, new RegExp(`error ${rule}: ${from!.replace(/[.]/g, '\\.')}`), `${example}: the message names the rule and the importing file`);
    const named = [...out.matchAll(/error ([a-z-]+):/g)].map((match) => match[1]);
    t.same([...new Set(named)], [rule], `${example}: no other rule fires`);
  }
});

t.test('the rule set and docs/architecture.md name the same rules', async (t) => {
  const configured = (options.ruleSet?.forbidden ?? []).map((rule) => rule.name).sort();
  t.ok(configured.length > 10, `the rule set is read (${configured.length} rules)`);
  t.same(configured, [...new Set(BREAKS.map(([rule]) => rule))].sort(), 'each configured rule has a breaking example above');
  // The first cell of each row of the page's rule table.
  const page = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const documented = [...page.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]).sort();
  t.same(documented, configured, 'docs/architecture.md explains exactly the configured rules');
});

const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window', 'self']);

/** Where a source file touches the `process` global (process.env, globalThis.process, …), as line numbers. */
function processUses(text: string, fileName: string): number[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const at = (node: ts.Node) => lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1);
  const isGlobalObject = (node: ts.Expression) => ts.isIdentifier(node) && GLOBAL_OBJECTS.has(node.text);
  // `const { process } = globalThis`: the binding pattern's declaration takes it from a global object.
  const isDestructuredFromGlobal = (element: ts.BindingElement) => {
    const declaration = element.parent.parent;
    return ts.isVariableDeclaration(declaration) && declaration.initializer !== undefined && isGlobalObject(declaration.initializer);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'process') {
      const parent = node.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node && !isGlobalObject(parent.expression)) ||
        (ts.isPropertyAssignment(parent) && parent.name === node) ||
        (ts.isBindingElement(parent) && parent.propertyName === node && !isDestructuredFromGlobal(parent));
      if (!isMemberName) at(node);
    }
    // globalThis['process'], Reflect.get(globalThis, 'process'), …: the name as a string beside a global object.
    if (ts.isStringLiteralLike(node) && node.text === 'process') {
      const parent = node.parent;
      if ((ts.isElementAccessExpression(parent) && isGlobalObject(parent.expression)) || (ts.isCallExpression(parent) && parent.arguments.some(isGlobalObject))) at(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}

/** Imports that name only types but are not written `import type`: they still load the module at run time (verbatimModuleSyntax). */
function typeOnlyValueImports(text: string, fileName: string): number[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !statement.importClause || statement.importClause.isTypeOnly) continue;
    const { name, namedBindings } = statement.importClause;
    if (name || !namedBindings || !ts.isNamedImports(namedBindings)) continue;
    if (namedBindings.elements.length > 0 && namedBindings.elements.every((element) => element.isTypeOnly)) {
      lines.push(source.getLineAndCharacterOfPosition(statement.getStart()).line + 1);
    }
  }
  return lines;
}

t.test('processUses finds the global however it is reached, and nothing else', async (t) => {
  t.same(processUses('const a = process.env.PORT;', 'a.ts'), [1]);
  t.same(processUses("const { env } = process;\nconst b = process['env'];", 'a.ts'), [1, 2]);
  t.same(processUses("globalThis.process.env.A;\nglobal.process.exit();\nglobalThis['process'];\nReflect.get(globalThis, 'process');", 'a.ts'), [1, 2, 3, 4]);
  t.same(processUses('const { process: p } = globalThis;', 'a.ts'), [1]);
  t.same(processUses("const c = { process: 1 }; c.process; c['process']; // process.env in a comment", 'a.ts'), []);
  t.same(processUses("const s = 'process.env'; const { process: q } = c; q;", 'a.ts'), []);
});

t.test('typeOnlyValueImports finds imports that load a module for its types alone', async (t) => {
  t.same(typeOnlyValueImports("import { type Test } from 'tap';\nimport { type A, type B } from './x.js';", 'a.ts'), [1, 2]);
  t.same(typeOnlyValueImports("import type { Test } from 'tap';\nimport { a, type B } from './x.js';\nimport d from 'd';\nimport './side.js';\nimport * as n from 'n';", 'a.ts'), []);
});

/** Every source file under `dir`, whatever its JavaScript or TypeScript extension. */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(`${dir}/${entry.name}`) : /\.[cm]?[jt]sx?$/.test(entry.name) ? [`${dir}/${entry.name}`] : [],
  );
}

const production = [...sourceFiles('src'), ...sourceFiles('migrations')];

t.test('only src/server.ts and src/cli/ touch the process global', async (t) => {
  const allowed = /^src\/(server\.ts$|cli\/)/;
  t.ok(production.length > 50, 'the walk sees the source tree');
  const offenders = production
    .filter((file) => !allowed.test(file))
    .flatMap((file) => processUses(readFileSync(path.join(ROOT, file), 'utf8'), file).map((line) => `${file}:${line}`));
  t.same(offenders, [], 'environment-read-only-at-entry-points: take what you need from Config instead');
  const entryPoints = production.filter((file) => allowed.test(file));
  t.ok(entryPoints.some((file) => processUses(readFileSync(path.join(ROOT, file), 'utf8'), file).length > 0), 'the entry points are seen reading it');
});

t.test('imports of types alone are written `import type`', async (t) => {
  const offenders = production.flatMap((file) => typeOnlyValueImports(readFileSync(path.join(ROOT, file), 'utf8'), file).map((line) => `${file}:${line}`));
  t.same(offenders, [], 'write `import type { … }`: an import of types alone otherwise loads the module at run time');
});
