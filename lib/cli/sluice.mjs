#!/usr/bin/env node
// The `sluice` command (package.json "bin"): runs lib/cli/main.ts through tsx, as npm start does.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv.slice(2), {
  stdin: process.stdin,
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
});
