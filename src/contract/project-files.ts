// Files shipped beside the code (openapi.yaml, the sandbox page), found from
// the project root whether roost runs from src/ or from the compiled dist/src/.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// This file is src/contract/project-files.ts, or dist/src/contract/project-files.js once built.
const sourceRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.basename(path.dirname(sourceRoot)) === 'dist';

export const PROJECT_ROOT = path.resolve(sourceRoot, compiled ? '../..' : '..');

export function readProjectFile(relative: string): string {
  return readFileSync(path.join(PROJECT_ROOT, relative), 'utf8');
}
