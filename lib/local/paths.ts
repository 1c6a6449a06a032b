import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is lib/local/paths.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Local state (venv, logs, emulator data): `.sluice/`, gitignored. */
export function stateDir(...parts: string[]): string {
  const dir = join(REPO_ROOT, '.sluice', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
