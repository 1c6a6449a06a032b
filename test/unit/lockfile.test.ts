/**
 * `npm ci` refuses a lock file that lacks an optional dependency of any platform (every
 * user's CI starts with it): the lock must list each optional platform package, not only
 * the ones of the machine that wrote it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type LockPackage = { version?: string; inBundle?: boolean; optionalDependencies?: Record<string, string> };

describe('package-lock.json', () => {
  it('lists every optional (platform) dependency of every package, for every platform', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, LockPackage>;
    };
    const missing: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      if (pkg.inBundle) continue; // shipped inside its parent's tarball; npm ci installs nothing of it
      for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
        // npm resolves from the package's own node_modules upwards
        const candidates = [`${path ? `${path}/` : ''}node_modules/${name}`, `node_modules/${name}`];
        if (!candidates.some((c) => lock.packages[c])) missing.push(`${name} (of ${path || 'the root'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
