#!/usr/bin/env node
// Runs before `npm start` and `npm test` on a fresh clone: checks Node and installs the
// locked npm dependencies with `npm ci` (exactly the lock file, as every user's CI does)
// when node_modules is missing or older than package-lock.json; `--force` always does.
// Plain JavaScript with no dependencies, because it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 15)) {
  console.error(`Sluice needs Node.js 20.15 or newer (found ${process.versions.node}).`);
  process.exit(1);
}

const lock = readFileSync(join(root, 'package-lock.json'));
const digest = createHash('sha256').update(lock).digest('hex');
const marker = join(root, 'node_modules', '.sluice-lock.sha256');
const force = process.argv.includes('--force');
if (!force && existsSync(marker) && readFileSync(marker, 'utf8') === digest) process.exit(0);

console.log('[sluice] installing the locked npm dependencies ...');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    '[sluice] npm ci failed; see the output above. If it says the lock file is out of sync, ' +
      'run `npm install` once and commit package-lock.json.',
  );
  process.exit(r.status ?? 1);
}
writeFileSync(marker, digest);
