/** `layerwise images [OPTIONS] [REPOSITORY[:TAG]]` (also `image ls`, `image list`): as `docker images`. */
import { shortId } from '../../image/digest';
import { parseReference, repositoryName } from '../../image/refs';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { compileTemplate } from './go-template';
import { goTimeString, humanSize, parseFlags, table, timeAgo, usageError, showHelp } from './image-cli';
import { repoAndTag, summaries, type ImageSummary } from './image-view';

export const summary = 'List images';

interface Row {
  Containers: string;
  CreatedAt: string;
  CreatedSince: string;
  Digest: string;
  ID: string;
  Repository: string;
  SharedSize: string;
  Size: string;
  Tag: string;
  UniqueSize: string;
  VirtualSize: string;
}

function globToRe(p: string): RegExp {
  return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, {
    all: { type: 'bool', short: 'a' },
    digests: { type: 'bool' },
    format: { type: 'string' },
    'no-trunc': { type: 'bool' },
    quiet: { type: 'bool', short: 'q' },
    filter: { type: 'strings', short: 'f' },
  }, 'images');
  if (f.help) return showHelp(ctx, 'images [OPTIONS] [REPOSITORY[:TAG]]', summary, f);
  if (f.args.length > 1) throw usageError('"images" requires at most 1 argument.', 'images');
  const store = await openStore(ctx.root);
  let list = await summaries(store);
  const noTrunc = f.bools.has('no-trunc');
  // filters: the positional REPOSITORY[:TAG] and --filter dangling=…, reference=…, before/since are not supported
  if (f.args[0] && /[*?[]/.test(f.args[0])) {
    // a pattern (`docker images 'bus*'`): the reference filter
    const re = globToRe(f.args[0]);
    list = list.filter((s) => {
      if (!s.name) return false;
      const { repo, tag } = repoAndTag(s.name);
      return re.test(repo) || re.test(`${repo}:${tag}`);
    });
  } else if (f.args[0]) {
    const want = parseReference(f.args[0], { defaultTag: false });
    list = list.filter((s) => {
      if (!s.name) return false;
      const r = parseReference(s.name, { defaultTag: false });
      return repositoryName(r) === repositoryName(want) && (want.tag === undefined || r.tag === want.tag);
    });
  }
  for (const flt of f.lists.get('filter') ?? []) {
    const [k, v = ''] = flt.split(/=(.*)/s);
    if (k === 'dangling') {
      const d = v === 'true' || v === '1';
      list = list.filter((s) => (s.name === '') === d);
    } else if (k === 'reference') {
      const re = globToRe(v);
      list = list.filter((s) => {
        if (!s.name) return false;
        const { repo, tag } = repoAndTag(s.name);
        return re.test(repo) || re.test(`${repo}:${tag}`);
      });
    } else if (k === 'label') {
      const [lk, lv] = v.split(/=(.*)/s);
      list = list.filter((s) => {
        const labels = s.config.config?.Labels ?? {};
        return lk! in labels && (lv === undefined || labels[lk!] === lv);
      });
    } else {
      throw usageError(`invalid filter '${k}'`, 'images');
    }
  }
  list.sort((a, b) => (Date.parse(b.created ?? '') || 0) - (Date.parse(a.created ?? '') || 0) || a.name.localeCompare(b.name));
  const now = Date.now();
  const rows: Row[] = list.map((s: ImageSummary) => {
    const { repo, tag, digest } = repoAndTag(s.name);
    return {
      Containers: 'N/A',
      CreatedAt: goTimeString(s.created),
      CreatedSince: timeAgo(s.created, now),
      Digest: digest ?? (s.name ? s.target.digest : '<none>'),
      ID: noTrunc ? s.id : shortId(s.id),
      Repository: repo,
      SharedSize: 'N/A',
      Size: humanSize(s.size),
      Tag: tag,
      UniqueSize: 'N/A',
      VirtualSize: humanSize(s.size),
    };
  });
  if (f.bools.has('quiet')) {
    const seen = new Set<string>();
    for (const r of rows) {
      if (seen.has(r.ID)) continue;
      seen.add(r.ID);
      ctx.stdout.write(r.ID + '\n');
    }
    return 0;
  }
  const format = f.strings.get('format');
  if (format === 'json') {
    for (const r of rows) ctx.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  if (format && format !== 'table') {
    // docker turns the two characters `\t` in a format into a tab
    const src = format.replace(/\\t/g, '\t');
    const tableMode = src.startsWith('table ');
    const t = compileTemplate(tableMode ? src.slice(6) : src);
    if (tableMode) {
      const headers: Record<string, string> = {
        Containers: 'CONTAINERS', CreatedAt: 'CREATED AT', CreatedSince: 'CREATED', Digest: 'DIGEST', ID: 'IMAGE ID', Repository: 'REPOSITORY',
        SharedSize: 'SHARED SIZE', Size: 'SIZE', Tag: 'TAG', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE',
      };
      const lines = [t.render(headers), ...rows.map((r) => t.render(r))];
      ctx.stdout.write(table(lines.map((l) => l.split('\t'))));
    } else {
      for (const r of rows) ctx.stdout.write(t.render(r) + '\n');
    }
    return 0;
  }
  const digests = f.bools.has('digests');
  const head = digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const body = rows.map((r) => (digests ? [r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size] : [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size]));
  ctx.stdout.write(table([head, ...body]));
  return 0;
}
