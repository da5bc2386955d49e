// Runs before `tsc --build tsconfig.build.json` (npm run build).
//
// tsc --build skips the compile when dist/tsconfig.build.tsbuildinfo is newer
// than every source and config file; it does not look at the compiled files.
// If some went missing while that file stayed (dist/src deleted by hand, say),
// delete it too, so tsc compiles everything again instead of leaving
// `node dist/src/server.js` to fail on a missing module.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// As in tsconfig.build.json (include, tsBuildInfoFile) and tsconfig.json (outDir, rootDir ".").
const SOURCE_DIRS = ['src', 'migrations'];
const OUT_DIR = 'dist';
const BUILD_INFO = path.join(ROOT, OUT_DIR, 'tsconfig.build.tsbuildinfo');

/** The files tsc compiles under dir: .ts, .mts and .cts, not declaration files. */
function* sources(dir) {
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (/\.[cm]?ts$/.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) yield file;
  }
}

if (existsSync(BUILD_INFO)) {
  const compiled = (file) => path.join(OUT_DIR, file.replace(/\.([cm]?)ts$/, '.$1js'));
  const missing = SOURCE_DIRS.flatMap((dir) => [...sources(dir)]).map(compiled).find((file) => !existsSync(path.join(ROOT, file)));
  if (missing) {
    console.log(`${missing} is missing: compiling everything again`);
    rmSync(BUILD_INFO);
  }
}
