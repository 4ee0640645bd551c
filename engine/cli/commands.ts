/**
 * The command table of the `layerwise` CLI. Each command lives in engine/cli/commands/<name>.ts and is
 * loaded only when it runs, so that `layerwise --help` stays fast. Add one line per command here.
 */
import type { CliContext } from './context';

export interface CommandModule {
  /** one line for `layerwise --help` */
  summary: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}

export const commands: Record<string, () => Promise<CommandModule>> = {
  build: () => import('./commands/build'),
  run: () => import('./commands/run'),
  __copy: () => import('./commands/internal-copy'),
  __supervise: () => import('./commands/internal-supervise'),
  debug: () => import('./commands/debug'),
  images: () => import('./commands/images'),
  inspect: () => import('./commands/inspect'),
  history: () => import('./commands/history'),
  tag: () => import('./commands/tag'),
  rmi: () => import('./commands/rmi'),
  'image-prune': () => import('./commands/image-prune'),
  'builder-prune': () => import('./commands/builder-prune'),
  'system-df': () => import('./commands/system-df'),
  save: () => import('./commands/save'),
  load: () => import('./commands/load'),
  import: () => import('./commands/import'),
  fsck: () => import('./commands/fsck'),
  layers: () => import('./commands/layers'),
  pull: () => import('./commands/pull'),
  push: () => import('./commands/push'),
  login: () => import('./commands/login'),
  ps: () => import('./commands/ps'),
  logs: () => import('./commands/logs'),
  stop: () => import('./commands/stop'),
  kill: () => import('./commands/kill'),
  rm: () => import('./commands/rm'),
  start: () => import('./commands/start'),
  exec: () => import('./commands/exec'),
  logout: () => import('./commands/logout'),
};

/** docker-style aliases: `layerwise image ls` = `layerwise images`. */
export const aliases: Record<string, string> = {
  'image ls': 'images',
  'image list': 'images',
  'image inspect': 'inspect',
  'image history': 'history',
  'image tag': 'tag',
  'image rm': 'rmi',
  'image remove': 'rmi',
  'image prune': 'image-prune',
  'image save': 'save',
  'image load': 'load',
  'image import': 'import',
  'image pull': 'pull',
  'container ls': 'ps',
  'container list': 'ps',
  'container ps': 'ps',
  'container logs': 'logs',
  'container stop': 'stop',
  'container kill': 'kill',
  'container rm': 'rm',
  'container remove': 'rm',
  'container start': 'start',
  'container exec': 'exec',
  'container inspect': 'inspect',
  'container run': 'run',
  'image push': 'push',
  'system df': 'system-df',
  'builder prune': 'builder-prune',
};
