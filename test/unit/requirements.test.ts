/**
 * The Python tools the project installs (LocalStack, the conformance fuzzer) come from fully
 * pinned, hashed requirements files: pip installs them with `--no-deps --require-hashes`, so a
 * line without a version or a hash would fail the install on a fresh machine — caught here first.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const files = ['lib/local/localstack-requirements.txt', 'test/conformance/requirements.txt'];

describe('Python requirements', () => {
  it.each(files)('%s pins every package to one version with sha256 hashes', (file) => {
    const text = readFileSync(file, 'utf8');
    // one requirement per logical line (continuations joined)
    const requirements = text
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(requirements.length).toBeGreaterThan(10);
    for (const r of requirements) {
      expect(r, r).toMatch(/^[A-Za-z0-9_.[\]-]+==[^\s]+( +--hash=sha256:[0-9a-f]{64})+$/);
    }
  });
});
