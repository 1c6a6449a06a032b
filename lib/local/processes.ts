/**
 * Child processes of the local backends: started on 127.0.0.1, stopped by the code that
 * started them (by their own pid, or their own process group when they start children of
 * their own), and killed if this process exits first.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { systemClock } from '../clock';

/** A started server process. */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ManagedProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const p of running) signal(p, 'SIGKILL');
  });
}

const groups = new WeakSet<ChildProcess>();

/** Signals the process, or its whole group if it leads one (ESRCH: already gone). */
function signal(p: { child: ChildProcess }, sig: NodeJS.Signals): void {
  try {
    if (groups.has(p.child) && p.child.pid !== undefined) process.kill(-p.child.pid, sig);
    else p.child.kill(sig);
  } catch {
    // the group has no members left
  }
}

/**
 * Spawns `command`, logging its output to `logFile`. With `group`, the child leads a
 * process group of its own and is stopped with everything it started (LocalStack's
 * DynamoDB JVM and Lambda environments would be orphaned otherwise).
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { logFile: string; group?: boolean },
): ManagedProcess {
  hookExit();
  pruneOldLogs(dirname(options.logFile));
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const { group = false, logFile: _, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, detached: group, stdio: ['ignore', 'pipe', 'pipe'] });
  if (group) groups.add(child);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const managed: ManagedProcess = {
    name,
    child,
    exited,
    async stop(graceMs = 5000) {
      running.delete(managed);
      if (child.exitCode === null && child.signalCode === null) {
        signal(managed, 'SIGTERM');
        const timer = setTimeout(() => signal(managed, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // whatever of the group outlived its leader
      if (group) signal(managed, 'SIGKILL');
      log.end();
    },
  };
  running.add(managed);
  void exited.then(() => running.delete(managed));
  return managed;
}

const LOG_KEEP_MS = 3 * 86_400_000;

/** Every start writes a log named by its port: keep three days of them, not all of them. */
function pruneOldLogs(dir: string): void {
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    try {
      if (systemClock.nowMs() - statSync(file).mtimeMs > LOG_KEEP_MS) rmSync(file, { force: true });
    } catch {
      // another process pruned it first
    }
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns true, the process exits, or `timeoutMs` passes. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  proc: ManagedProcess | undefined,
  timeoutMs: number,
  logFile?: string,
): Promise<void> {
  const start = systemClock.nowMs();
  let exited = false;
  void proc?.exited.then(() => {
    exited = true;
  });
  while (systemClock.nowMs() - start < timeoutMs) {
    if (exited) throw new Error(`${what} exited during startup${logFile ? `; see ${logFile}` : ''}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms${logFile ? `; see ${logFile}` : ''}`);
}

/** Runs a command to completion; rejects with its output on failure. */
export function run(command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`)),
    );
  });
}
