// The import rules of docs/architecture.md, checked by `npm test`
// (npm run lint:architecture). Each rule's comment is what a violation prints.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-knows-no-http',
      comment:
        'The domain folders (contract, sign-in, twitter, sessions, users, keys, store, ops, cli) know no HTTP framework: ' +
        'they take and return plain values, and src/http/ turns requests into calls to them. Move the Fastify part into src/http/.',
      severity: 'error',
      from: { path: '^src/(contract|sign-in|twitter|sessions|users|keys|store|ops|cli)/' },
      to: { path: ['^src/http/', '^src/app\\.ts$', 'node_modules/(fastify|@fastify/|helmet|fastify-plugin)'] },
    },
    {
      name: 'fastify-only-at-the-edge',
      comment: 'Only src/http/, src/app.ts and the sandbox (which serves HTTP as Twitter would) import Fastify.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(http/|sandbox/|app\\.ts$)' },
      to: { path: 'node_modules/(fastify|@fastify/|helmet|fastify-plugin)' },
    },
    {
      name: 'only-the-assembly-mounts-the-sandbox',
      comment: 'Production code never imports src/sandbox/: only src/app.ts mounts it, when the configuration turns it on.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(app\\.ts$|sandbox/)' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'sandbox-stands-alone',
      comment:
        'The sandbox stands in for Twitter and checks what roost sends it, so it shares no code with roost: ' +
        'a bug in a shared helper would pass on both sides.',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/', pathNot: '^src/sandbox/' },
    },
    {
      name: 'environment-read-only-at-entry-points',
      comment:
        'Only src/server.ts and the commands in src/cli/ read the process environment; everything else receives the parsed Config. ' +
        '(The test suite also checks that no other file touches the process global.)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(server\\.ts$|cli/)' },
      to: { dependencyTypes: ['core'], path: '^(node:)?process$' },
    },
    {
      name: 'entry-points-are-not-imported',
      comment: 'src/server.ts and the commands in src/cli/ are processes: nothing imports them (they read process.env and exit).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: ['^src/server\\.ts$', '^src/cli/'] },
    },
    {
      name: 'domain-does-not-reach-the-composition',
      comment:
        'The domain folders receive their dependencies as parameters; they do not import the composition root ' +
        '(src/app.ts, src/deps.ts, src/server.ts). config.ts and errors.ts are shared by every folder.',
      severity: 'error',
      from: { path: '^src/(contract|sign-in|twitter|sessions|users|keys|store|ops)/' },
      to: { path: '^src/(app|deps|server)\\.ts$' },
    },
    {
      name: 'contract-stands-first',
      comment: 'src/contract/ reads openapi.yaml and the files shipped beside the code; it imports nothing else of roost.',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { path: '^src/', pathNot: '^src/contract/' },
    },
    {
      name: 'production-code-stays-out-of-tests',
      comment: 'src/ never imports test/, bench/ or a development-only package.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-dev-dependencies-in-production',
      comment: 'src/ and migrations/ run in the image, which installs no devDependencies.',
      severity: 'error',
      from: { path: '^(src|migrations)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      comment: 'Imports form no cycle (type-only imports aside): each module can be read after the ones it uses.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
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
