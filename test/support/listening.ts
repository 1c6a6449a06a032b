/**
 * Which TCP ports a process tree listens on, read from /proc (Linux): every server the
 * project starts must listen on loopback only.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A listening socket: its address, port and owning process. */
export interface Listener {
  readonly address: string;
  readonly port: number;
  readonly pid: number;
}

function hexToAddress(hex: string): string {
  if (hex.length === 8) {
    // IPv4, little-endian
    return [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.');
  }
  // IPv6: four little-endian 32-bit words
  const words = [0, 8, 16, 24].map(
    (i) =>
      hex
        .slice(i, i + 8)
        .match(/../g)
        ?.reverse()
        .join('') ?? '',
  );
  const groups = words.join('').match(/..../g) ?? [];
  return groups.map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

function listeningInodes(): Map<string, { address: string; port: number }> {
  const out = new Map<string, { address: string; port: number }>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      const [ip, port] = (f[1] as string).split(':') as [string, string];
      out.set(f[9] as string, { address: hexToAddress(ip), port: Number.parseInt(port, 16) });
    }
  }
  return out;
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop() as number;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Every socket the processes of `root`'s tree listen on. */
export function listenersOf(root: number): Listener[] {
  const inodes = listeningInodes();
  const out: Listener[] = [];
  for (const pid of processTree(root)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        const l = m ? inodes.get(m[1] as string) : undefined;
        if (l) out.push({ ...l, pid });
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8 (addresses as `hexToAddress` writes them). */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '0:0:0:0:0:0:0:1' || /^0:0:0:0:0:ffff:7f[0-9a-f]{2}:/.test(address);
}
