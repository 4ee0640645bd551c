/** The containers as the extension sees them, through the CLI: `ps -a --format json --no-trunc`. */
import { parseJsonOutput, runCli, type CliEnvironment } from './cli';

export interface ContainerItem {
  id: string;
  name: string;
  image: string;
  command: string;
  state: 'running' | 'exited' | 'created' | string;
  status: string;
  ports: string;
}

export function toContainerItems(rows: unknown[]): ContainerItem[] {
  const out: ContainerItem[] = [];
  for (const r of rows) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
    if (!s('ID')) continue;
    out.push({ id: s('ID'), name: s('Names'), image: s('Image'), command: s('Command'), state: s('State'), status: s('Status'), ports: s('Ports') });
  }
  return out;
}

export async function listContainers(cli: CliEnvironment): Promise<ContainerItem[]> {
  return toContainerItems(parseJsonOutput(await runCli(cli, ['ps', '-a', '--no-trunc', '--format', 'json'])));
}
