'use strict';
// The transpiler of tap's test processes (ts-node's "transpiler", named in
// scripts/tsconfig.tap.json). tap runs every test file in a process of its
// own, and ts-node transpiles every TypeScript file such a process loads: the
// test, its helpers and most of src/, seconds of CPU for each test file. This
// emits exactly what ts-node's transpile-only mode emits (its own function,
// the same TypeScript, the same options), and keeps each file's output in
// node_modules/.cache/tap-ts for the processes after it. An entry is used
// only for the same TypeScript and ts-node versions, options, module kind,
// file and source text; a changed file is transpiled again and its entry
// replaced. Coverage maps through the same source maps as before.
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const cacheDir = path.resolve(__dirname, '../node_modules/.cache/tap-ts');
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** The ts-node that tap loads: its version, and the transpile function its transpile-only mode calls. */
function tsNode() {
  const from = [path.dirname(require.resolve('@tapjs/typescript/package.json')), __dirname];
  const root = path.dirname(require.resolve('@isaacs/ts-node-temp-fork-for-pr-2009/package.json', { paths: from }));
  return {
    version: require(path.join(root, 'package.json')).version,
    createTsTranspileModule: require(path.join(root, 'dist/ts-transpile-module.js')).createTsTranspileModule,
  };
}

exports.create = ({ service, nodeModuleEmitKind }) => {
  const ts = require(service.projectLocalResolveHelper('typescript', true));
  const compilerOptions = service.config.options;
  const { version, createTsTranspileModule } = tsNode();
  const transpile = createTsTranspileModule(ts, { compilerOptions, reportDiagnostics: true });
  const packageJsonType = nodeModuleEmitKind === 'nodeesm' ? 'module' : 'commonjs';
  const settings = sha256(JSON.stringify([ts.version, version, nodeModuleEmitKind ?? null, compilerOptions]));
  mkdirSync(cacheDir, { recursive: true });
  return {
    transpile(code, { fileName }) {
      const entry = path.join(cacheDir, `${sha256(`${settings}\0${fileName}`)}.json`);
      const source = sha256(code);
      try {
        const kept = JSON.parse(readFileSync(entry, 'utf8'));
        if (kept.source === source) return { outputText: kept.outputText, sourceMapText: kept.sourceMapText };
      } catch {
        // nothing kept for this file yet
      }
      const result = transpile(code, { fileName }, packageJsonType);
      // Output with diagnostics is not kept: ts-node reports them every time.
      if (!result.diagnostics?.length) {
        const partial = `${entry}.${process.pid}.tmp`;
        try {
          writeFileSync(partial, JSON.stringify({ source, outputText: result.outputText, sourceMapText: result.sourceMapText }));
          renameSync(partial, entry); // whole or not at all, for the processes running beside this one
        } catch {
          // a cache that cannot be written costs time, nothing else
        }
      }
      return result;
    },
  };
};
