// Files shipped beside the code (openapi.yaml, the sandbox page), found from
// the project root whether roost runs from src/ or from the compiled dist/src/.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const compiled = path.basename(path.dirname(here)) === 'dist';

export const PROJECT_ROOT = path.resolve(here, compiled ? '../..' : '..');

export function readProjectFile(relative: string): string {
  return readFileSync(path.join(PROJECT_ROOT, relative), 'utf8');
}
