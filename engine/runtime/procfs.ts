/** Reading process relations from /proc. */
import { readFileSync, readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

/** host pids of the children of `pid` */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    let names: string[] = [];
    try {
      names = readdirSync('/proc');
    } catch {
      return out;
    }
    for (const n of names) {
      if (!/^[0-9]+$/.test(n)) continue;
      try {
        const st = readFileSync(`/proc/${n}/stat`, 'utf8');
        const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.push(Number(n));
      } catch {
        // gone
      }
    }
    return out;
  }
}

export function signalName(n: number): NodeJS.Signals | undefined {
  for (const [name, num] of Object.entries(osConstants.signals)) if (num === n) return name as NodeJS.Signals;
  return undefined;
}
