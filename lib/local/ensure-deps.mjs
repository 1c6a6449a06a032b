#!/usr/bin/env node
// Runs before `npm start` and `npm test` on a fresh clone: checks Node and installs the
// locked npm dependencies when node_modules is missing or older than package-lock.json.
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
if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) process.exit(0);

console.log('[sluice] installing the locked npm dependencies ...');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--no-save'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('[sluice] npm install failed; see the output above.');
  process.exit(r.status ?? 1);
}
writeFileSync(marker, digest);
