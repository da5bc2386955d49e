// The import rules of docs/architecture.md, checked by `npm test`
// (npm run lint:architecture). A violation prints the rule's name, the import,
// and the rule's comment: why the rule exists and what to do instead.
// Rules name what may do a thing and forbid everyone else, so that a new file
// or folder is held to them without a change here.
const FASTIFY = 'node_modules/(fastify|@fastify/|fastify-plugin|helmet)';
const PRODUCTION = '^(src|migrations)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-knows-no-http',
      comment:
        'Only src/http/ and the assembly (src/app.ts, src/server.ts) import src/http/ or src/app.ts: the rest of roost ' +
        'takes and returns plain values, and src/http/ turns requests into calls to it. Move the HTTP part into src/http/.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(http/|app\\.ts$|server\\.ts$)' },
      to: { path: ['^src/http/', '^src/app\\.ts$'] },
    },
    {
      name: 'fastify-only-at-the-edge',
      comment: 'Only src/http/, src/app.ts and the sandbox (which serves HTTP as Twitter would) import Fastify or its plugins.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(http/|sandbox/|app\\.ts$)' },
      to: { path: FASTIFY },
    },
    {
      name: 'only-the-assembly-mounts-the-sandbox',
      comment: 'Production code never imports src/sandbox/: only src/app.ts mounts it, when the configuration turns it on.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(app\\.ts$|sandbox/)' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'sandbox-stands-alone',
      comment:
        'The sandbox stands in for Twitter and checks what roost sends it, so it shares no code with roost: ' +
        'a bug in a shared helper would pass on both sides.',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: PRODUCTION, pathNot: '^src/sandbox/' },
    },
    {
      name: 'environment-read-only-at-entry-points',
      comment:
        'Only src/server.ts and the commands in src/cli/ read the process environment; everything else receives the parsed Config. ' +
        '(test/architecture.test.ts also checks that no other file touches the process global.)',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(server\\.ts$|cli/)' },
      to: { dependencyTypes: ['core'], path: '^(node:)?process$' },
    },
    {
      name: 'imports-are-visible',
      comment:
        'No module loader of its own (createRequire, vm, workers): every dependency is a static import these rules can see. ' +
        "A JSON file is imported with `with { type: 'json' }`.",
      severity: 'error',
      from: { path: PRODUCTION },
      to: { dependencyTypes: ['core'], path: '^(node:)?(module|vm|worker_threads)$' },
    },
    {
      name: 'entry-points-are-not-imported',
      comment:
        'src/server.ts and the commands in src/cli/ are processes: nothing imports them (they read process.env and exit). ' +
        'What the commands share lives in src/cli/command-error.ts or in the domain folders.',
      severity: 'error',
      from: {},
      to: { path: ['^src/server\\.ts$', '^src/cli/(?!command-error\\.ts$)'] },
    },
    {
      name: 'domain-does-not-reach-the-composition',
      comment:
        'Dependencies arrive as parameters: only the assembly (src/server.ts, src/app.ts, src/deps.ts) and src/http/ ' +
        '(which receives them as route options) import src/app.ts, src/deps.ts or src/server.ts.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(http/|app\\.ts$|deps\\.ts$|server\\.ts$)' },
      to: { path: '^src/(app|deps|server)\\.ts$' },
    },
    {
      name: 'contract-stands-first',
      comment: 'src/contract/ reads openapi.yaml and the files shipped beside the code; it imports nothing else of roost.',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { path: PRODUCTION, pathNot: '^src/contract/' },
    },
    {
      name: 'store-is-the-ground',
      comment: 'src/store/ (Postgres, Redis) is below every domain folder: it imports only itself, errors.ts and the migrations.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: PRODUCTION, pathNot: '^(src/store/|src/errors\\.ts$|migrations/)' },
    },
    {
      name: 'migrations-are-frozen',
      comment: 'A migration must mean the same forever, so it imports no roost code that could change under it: only Kysely and other migrations.',
      severity: 'error',
      from: { path: '^migrations/' },
      to: { path: '^src/' },
    },
    {
      name: 'home-is-served-not-imported',
      comment: 'src/home/ is the sandbox page, read from disk by src/http/routes/home.ts and served to browsers; no module imports it.',
      severity: 'error',
      from: {},
      to: { path: '^src/home/' },
    },
    {
      name: 'production-code-stays-out-of-tests',
      comment: 'src/ and migrations/ never import test/, bench/, examples/ or scripts/: the image carries none of them.',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { path: '^(test|bench|examples|scripts)/' },
    },
    {
      name: 'no-dev-dependencies-in-production',
      comment:
        'src/ and migrations/ run in the image, which installs no devDependencies. (A type-only import is erased; ' +
        'test/architecture.test.ts checks that type-only imports are written `import type`.)',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-undeclared-packages',
      comment: 'Every package src/ and migrations/ import is declared in package.json, not borrowed from another package\'s dependencies.',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-circular',
      comment: 'Imports form no cycle (type-only imports aside): each module can be read after the ones it uses.',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package (src/home/ aside: it runs in the browser, where /roost.js is a URL on roost).',
      severity: 'error',
      from: { pathNot: '^src/home/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
