/**
 * Writing the id maps of a new user namespace (the process `pid` created it and waits): directly for a
 * single id (allowed for the namespace's owner), through newuidmap/newgidmap for subordinate ranges.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { LayerwiseError } from '../errors';
import { findExecutable } from './host-tools';
import type { IdMapPlan } from './idmap';

export async function writeIdMaps(pid: number, plan: IdMapPlan): Promise<void> {
  if (plan.mode === 'host') return;
  const line = (r: { inside: number; outside: number; count: number }): string => `${r.inside} ${r.outside} ${r.count}`;
  if (plan.mode === 'root-only') {
    await writeFile(`/proc/${pid}/uid_map`, plan.uids.map(line).join('\n') + '\n');
    await writeFile(`/proc/${pid}/setgroups`, 'deny\n');
    await writeFile(`/proc/${pid}/gid_map`, plan.gids.map(line).join('\n') + '\n');
    return;
  }
  for (const [tool, ranges] of [['newuidmap', plan.uids], ['newgidmap', plan.gids]] as const) {
    const args = [String(pid), ...ranges.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
    const res = await new Promise<{ code: number; err: string }>((resolve) => {
      const p = spawn(findExecutable(tool) ?? tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', (e) => resolve({ code: 127, err: e.message }));
      p.on('close', (code) => resolve({ code: code ?? 1, err }));
    });
    if (res.code !== 0) throw new LayerwiseError('io', `${tool} failed: ${res.err.trim()}`);
  }
}
