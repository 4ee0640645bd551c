/**
 * Section C, package managers: hadolint's DL rules for apt, pip, npm, apk, gem, yum, dnf, zypper, yarn, go.
 * A cache mount on the package cache (`RUN --mount=type=cache,target=/var/cache/apt ...`) silences the
 * cache-cleaning rules, as it should: nothing is left in the layer.
 */
import { eolOf, hasCacheMount } from './util';
import { rule, type Rule } from './types';
import {
  appendToRun,
  commandsNamed,
  envSetBefore,
  fixOf,
  insertAfterWord,
  packageArgs,
  replaceWord,
  reportCommand,
  runTextIncludes,
  sameRunHas,
  type RunCommand,
} from './runHelpers';
import { hasOption, type ShellWord } from './shell';

const APT_VALUE_OPTS = ['-o', '--option', '-t', '--target-release', '-c', '--config-file', '--default-release'];
const PIP_VALUE_OPTS = [
  '-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-i', '--index-url', '--extra-index-url', '-t', '--target',
  '--prefix', '--root', '-f', '--find-links', '--trusted-host', '--src', '--upgrade-strategy', '--platform', '--python-version',
  '--implementation', '--abi', '--only-binary', '--no-binary', '--progress-bar', '--cache-dir', '--log', '--proxy', '--retries',
  '--timeout', '--exists-action', '--cert', '--client-cert', '--python',
];
const NPM_VALUE_OPTS = ['--prefix', '-w', '--workspace', '--registry', '--cache', '--omit', '--include'];
const APK_VALUE_OPTS = ['-X', '--repository', '-t', '--virtual', '--root', '-p', '--repositories-file', '--arch', '--cache-dir'];
const RPM_VALUE_OPTS = ['-c', '--config', '--releasever', '--installroot', '--setopt', '--enablerepo', '--disablerepo', '-x', '--exclude', '--repo', '--repofrom'];
const GEM_VALUE_OPTS = ['-v', '--version', '-i', '--install-dir', '-n', '--bindir', '-s', '--source', '-P', '--trust-policy', '--platform'];
const ZYPPER_VALUE_OPTS = ['-r', '--repo', '-t', '--type', '--from'];

/** One command rule: which commands, a test, a message and an optional fix. */
function commandRule(def: {
  id: string;
  severity: Rule['severity'];
  description: string;
  names: string[];
  subs?: string[];
} & (
  | {
      bad: (c: RunCommand, ctx: import('./types').RuleContext) => boolean;
      message: string | ((c: RunCommand) => string);
    }
  | {
      /** the message for a bad command, undefined for a good one (when the test and the message share work) */
      verdict: (c: RunCommand) => string | undefined;
    }
) & {
  fix?: (c: RunCommand, ctx: import('./types').RuleContext) => { title: string; edit: ReturnType<typeof insertAfterWord> } | undefined;
}): Rule {
  return rule({
    id: def.id,
    // a command's verdict reads only its own RUN
    scope: 'instruction',
    group: 'bestpractice',
    severity: def.severity,
    description: def.description,
    check(ctx) {
      for (const c of commandsNamed(ctx.file, def.names, def.subs)) {
        let message: string | undefined;
        if ('verdict' in def) message = def.verdict(c);
        else if (def.bad(c, ctx)) message = typeof def.message === 'string' ? def.message : def.message(c);
        if (message === undefined) continue;
        const f = def.fix?.(c, ctx);
        reportCommand(ctx, c, message, f ? fixOf(f.title, f.edit) : undefined);
      }
    },
  });
}

const subWord = (c: RunCommand): ShellWord | undefined => c.args.find((a) => a.value === c.sub);
const insertAfterSub = (c: RunCommand, ctx: import('./types').RuleContext, text: string, title: string) => {
  const w = subWord(c);
  return w ? { title, edit: insertAfterWord(ctx.file, c, w, text) } : undefined;
};

/** Package words that carry no version. */
function unpinned(words: ShellWord[], pinned: (v: string) => boolean): ShellWord[] {
  return words.filter((w) => !pinned(w.value) && !w.value.includes('$') && !w.value.startsWith('/') && !w.value.startsWith('.'));
}

const dl3027 = commandRule({
  id: 'DL3027',
  severity: 'warning',
  description: 'Do not use `apt`: it has no stable command-line interface. Use `apt-get` or `apt-cache`.',
  names: ['apt'],
  bad: (c) => c.sub !== undefined,
  message: 'Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead',
  fix: (c, ctx) => ({ title: 'Use apt-get', edit: replaceWord(ctx.file, c, c.nameWord, 'apt-get') }),
});

const dl3014 = commandRule({
  id: 'DL3014',
  severity: 'warning',
  description: '`apt-get install` needs `-y`: a build cannot answer prompts.',
  names: ['apt-get'],
  subs: ['install'],
  bad: (c) => !hasOption(c.args, '-y', '--yes', '--assume-yes', '-qq', '--quiet=2', '-q=2'),
  message: 'Use the -y switch to avoid manual input: `apt-get -y install <package>`',
  fix: (c, ctx) => insertAfterSub(c, ctx, ' -y', 'Add -y'),
});

const dl3015 = commandRule({
  id: 'DL3015',
  severity: 'info',
  description: 'Avoid additional packages: `apt-get install --no-install-recommends`.',
  names: ['apt-get'],
  subs: ['install'],
  bad: (c) => !hasOption(c.args, '--no-install-recommends') && !c.args.some((a) => /APT::Install-Recommends=(false|0)/i.test(a.value)),
  message: 'Avoid additional packages by specifying `--no-install-recommends`',
  fix: (c, ctx) => insertAfterSub(c, ctx, ' --no-install-recommends', 'Add --no-install-recommends'),
});

const dl3008 = commandRule({
  id: 'DL3008',
  severity: 'warning',
  description: 'Pin versions in `apt-get install` (`pkg=1.2.*`) for reproducible builds.',
  names: ['apt-get'],
  subs: ['install'],
  verdict: (c) => {
    const bad = unpinned(packageArgs(c, APT_VALUE_OPTS), aptPinned);
    return bad.length > 0 ? `Pin versions in apt-get install: ${bad.map((w) => w.value).join(', ')}` : undefined;
  },
});

function aptPinned(v: string): boolean {
  return v.includes('=') || v.endsWith('.deb') || v.includes('/');
}

const APT_LISTS_CLEANED = /rm\s+(-[a-zA-Z]+\s+)*\S*\/var\/lib\/apt\/lists/;

const dl3009 = rule({
  id: 'DL3009',
  group: 'bestpractice',
  severity: 'info',
  description: 'Delete `/var/lib/apt/lists` in the RUN that ran `apt-get update`, or the lists stay in the layer.',
  check(ctx) {
    const last = ctx.file.stages[ctx.file.stages.length - 1];
    const seen = new Set<unknown>();
    for (const c of commandsNamed(ctx.file, ['apt-get'], ['update'])) {
      if (seen.has(c.ins)) continue;
      seen.add(c.ins);
      // hadolint: only the final stage ends up in the image
      if (c.stage !== last) continue;
      if (hasCacheMount(c.ins, '/var/lib/apt')) continue;
      if (runTextIncludes(c.ins, APT_LISTS_CLEANED)) continue;
      reportCommand(ctx, c, 'Delete the apt-get lists after installing something: `rm -rf /var/lib/apt/lists/*`', fixOf('Remove /var/lib/apt/lists in the same RUN', appendToRun(c.ins, ' \\\n    && rm -rf /var/lib/apt/lists/*'.replace('\n', eol(ctx)))));
    }
  },
});

function eol(ctx: import('./types').RuleContext): string {
  return eolOf(ctx.file);
}

const PIP = ['pip', 'pip3', 'pip2'];
/** `python -m pip install` is found as command `python`: normalise it. */
function pipCommands(file: import('../../engine/dockerfile/types').Dockerfile): RunCommand[] {
  const out: RunCommand[] = [];
  for (const c of commandsNamed(file, [...PIP, 'python', 'python3', 'python2'])) {
    if (PIP.includes(c.name) || /^pip\d?(\.\d+)?$/.test(c.name)) {
      if (c.sub === 'install') out.push(c);
      continue;
    }
    const m = c.args.findIndex((a) => a.value === '-m');
    if (m < 0 || !/^pip\d?$/.test(c.args[m + 1]?.value ?? '')) continue;
    const rest = c.args.slice(m + 2);
    const sub = rest.find((a) => !a.value.startsWith('-'));
    if (sub?.value !== 'install') continue;
    out.push({ ...c, name: 'pip', args: rest, sub: 'install' });
  }
  return out;
}

const dl3042 = rule({
  id: 'DL3042',
  group: 'bestpractice',
  severity: 'warning',
  description: '`pip install --no-cache-dir`: the pip cache has no use in an image.',
  check(ctx) {
    for (const c of pipCommands(ctx.file)) {
      if (hasOption(c.args, '--no-cache-dir')) continue;
      if (envSetBefore(ctx.file, c.stage, c.ins, 'PIP_NO_CACHE_DIR')) continue;
      if (hasCacheMount(c.ins, /\/\.cache(\/pip)?\/?$/)) continue;
      const f = insertAfterSub(c, ctx, ' --no-cache-dir', 'Add --no-cache-dir');
      reportCommand(ctx, c, 'Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`', f ? fixOf(f.title, f.edit) : undefined);
    }
  },
});

const pipPinned = (v: string): boolean =>
  /[=<>~!]=|[<>]|@/.test(v) || /\.(whl|tar\.gz|zip)$/.test(v) || v.includes('/') || v.startsWith('git+') || v === '.';

const dl3013 = rule({
  id: 'DL3013',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Pin versions in pip: `pip install pkg==1.2` (or install from a requirements file).',
  check(ctx) {
    for (const c of pipCommands(ctx.file)) {
      if (hasOption(c.args, '-r', '--requirement', '-e', '--editable', '--constraint', '-c')) continue;
      const bad = unpinned(packageArgs(c, PIP_VALUE_OPTS), pipPinned).filter((w) => !(w.value === 'pip' || w.value === 'setuptools' || w.value === 'wheel') || !hasOption(c.args, '-U', '--upgrade'));
      if (bad.length) reportCommand(ctx, c, `Pin versions in pip: ${bad.map((w) => w.value).join(', ')} (pip install <package>==<version>)`);
    }
  },
});

const dl3016 = commandRule({
  id: 'DL3016',
  severity: 'warning',
  description: 'Pin versions in npm: `npm install pkg@1.2.3`.',
  names: ['npm'],
  subs: ['install', 'i', 'add'],
  verdict: (c) => {
    const bad = npmUnpinned(c);
    return bad.length > 0 ? `Pin versions in npm: ${bad.map((w) => w.value).join(', ')} (npm install <package>@<version>)` : undefined;
  },
});

function npmUnpinned(c: RunCommand): ShellWord[] {
  return unpinned(packageArgs(c, NPM_VALUE_OPTS), (v) => {
    const at = v.lastIndexOf('@');
    return at > 0 || /^(git|https?|file):|^github:|\.tgz$/.test(v) || v.includes('/') && !v.startsWith('@');
  });
}

const dl3018 = commandRule({
  id: 'DL3018',
  severity: 'warning',
  description: 'Pin versions in apk: `apk add pkg=1.2.3-r0`.',
  names: ['apk'],
  subs: ['add'],
  verdict: (c) => {
    const bad = unpinned(packageArgs(c, APK_VALUE_OPTS), (v) => /[=<>~]/.test(v) || v.endsWith('.apk'));
    return bad.length > 0 ? `Pin versions in apk add: ${bad.map((w) => w.value).join(', ')} (apk add <package>=<version>)` : undefined;
  },
});

const dl3019 = commandRule({
  id: 'DL3019',
  severity: 'info',
  description: '`apk add --no-cache`: no package index left in the layer.',
  names: ['apk'],
  subs: ['add'],
  bad: (c) => !hasOption(c.args, '--no-cache') && !hasCacheMount(c.ins, '/var/cache/apk') && !runTextIncludes(c.ins, /\/var\/cache\/apk/),
  message: 'Use the `--no-cache` switch to avoid the need to use `--update` and remove `/var/cache/apk/*` when done installing packages',
  fix: (c, ctx) => insertAfterSub(c, ctx, ' --no-cache', 'Add --no-cache'),
});

const dl3028 = commandRule({
  id: 'DL3028',
  severity: 'warning',
  description: 'Pin versions in gem: `gem install pkg:1.2` or `-v 1.2`.',
  names: ['gem'],
  subs: ['install', 'i'],
  bad: (c) => !hasOption(c.args, '-v', '--version') && unpinned(packageArgs(c, GEM_VALUE_OPTS), (v) => v.includes(':') || v.endsWith('.gem')).length > 0,
  message: 'Pin versions in gem install. Instead of `gem install <gem>` use `gem install <gem>:<version>`',
});

function yesRule(id: string, names: string[], subs: string[], yes: string[], label: string): Rule {
  return commandRule({
    id,
    severity: 'warning',
    description: `\`${label}\` needs a non-interactive switch: a build cannot answer prompts.`,
    names,
    subs,
    bad: (c) => !hasOption(c.args, ...yes),
    message: `Use the -y switch to avoid manual input: \`${label} -y\``,
    fix: (c, ctx) => insertAfterSub(c, ctx, ' -y', 'Add -y'),
  });
}

function cleanRule(id: string, names: string[], cleanRe: RegExp, cleanCmd: string, cachePath: string): Rule {
  return rule({
    id,
    group: 'bestpractice',
    severity: 'warning',
    description: `Clean the ${names[0]} cache in the same RUN: \`${cleanCmd}\`.`,
    check(ctx) {
      const seen = new Set<unknown>();
      for (const c of commandsNamed(ctx.file, names, ['install', 'in', 'update', 'upgrade', 'up'])) {
        if (seen.has(c.ins)) continue;
        seen.add(c.ins);
        if (hasCacheMount(c.ins, cachePath)) continue;
        if (runTextIncludes(c.ins, cleanRe)) continue;
        reportCommand(ctx, c, `\`${cleanCmd}\` missing after ${c.name} command`, fixOf(`Add ${cleanCmd}`, appendToRun(c.ins, ` && ${cleanCmd}`)));
      }
    },
  });
}

function rpmPinRule(id: string, names: string[]): Rule {
  const bad = (c: RunCommand): ShellWord[] => unpinned(packageArgs(c, RPM_VALUE_OPTS), (v) => /-\d/.test(v) || v.endsWith('.rpm') || v.startsWith('@'));
  return commandRule({
    id,
    severity: 'warning',
    description: `Pin versions in ${names[0]} install: \`${names[0]} install pkg-1.2.3\`.`,
    names,
    subs: ['install'],
    verdict: (c) => {
      const b = bad(c);
      return b.length > 0 ? `Specify version with \`${names[0]} install -y <package>-<version>\`: ${b.map((w) => w.value).join(', ')}` : undefined;
    },
  });
}

const dl3030 = yesRule('DL3030', ['yum'], ['install', 'groupinstall', 'localinstall', 'update', 'upgrade'], ['-y', '--assumeyes'], 'yum install');
const dl3032 = cleanRule('DL3032', ['yum'], /yum\s+clean\s+all|rm\s+(-[a-zA-Z]+\s+)*\S*\/var\/cache\/yum/, 'yum clean all', '/var/cache/yum');
const dl3033 = rpmPinRule('DL3033', ['yum']);
const dl3038 = yesRule('DL3038', ['dnf', 'microdnf'], ['install', 'groupinstall', 'localinstall', 'update', 'upgrade'], ['-y', '--assumeyes'], 'dnf install');
const dl3040 = cleanRule('DL3040', ['dnf', 'microdnf'], /dnf\s+clean\s+all|rm\s+(-[a-zA-Z]+\s+)*\S*\/var\/cache\/(yum|dnf)/, 'dnf clean all', '/var/cache/dnf');
const dl3041 = rpmPinRule('DL3041', ['dnf', 'microdnf']);

const dl3034 = commandRule({
  id: 'DL3034',
  severity: 'warning',
  description: '`zypper install` needs `-y`/`-n`: a build cannot answer prompts.',
  names: ['zypper'],
  subs: ['install', 'in', 'remove', 'rm', 'source-install', 'si', 'patch'],
  bad: (c) => !hasOption(c.args, '-n', '--non-interactive', '-y', '--no-confirm'),
  message: 'Non-interactive switch missing from zypper command: `zypper install -y`',
  fix: (c, ctx) => insertAfterSub(c, ctx, ' -y', 'Add -y'),
});

const dl3035 = commandRule({
  id: 'DL3035',
  severity: 'warning',
  description: 'Do not use `zypper dist-upgrade` in a Dockerfile: upgrade the base image instead.',
  names: ['zypper'],
  subs: ['dist-upgrade', 'dup'],
  bad: () => true,
  message: 'Do not use `zypper dist-upgrade`: use a newer base image',
});

const dl3036 = cleanRule('DL3036', ['zypper'], /zypper\s+(clean|cc)\b/, 'zypper clean', '/var/cache/zypp');

const dl3037 = commandRule({
  id: 'DL3037',
  severity: 'warning',
  description: 'Pin versions in zypper install: `zypper install pkg=1.2.3`.',
  names: ['zypper'],
  subs: ['install', 'in'],
  bad: (c) => unpinned(packageArgs(c, ZYPPER_VALUE_OPTS), (v) => /[=<>]/.test(v) || v.endsWith('.rpm')).length > 0,
  message: 'Specify version with `zypper install -y <package>=<version>`',
});

const dl3060 = rule({
  id: 'DL3060',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'info',
  description: '`yarn cache clean` after `yarn install`, in the same RUN.',
  check(ctx) {
    for (const c of commandsNamed(ctx.file, ['yarn'])) {
      if (c.sub !== undefined && c.sub !== 'install' && c.sub !== 'add') continue;
      if (c.args.some((a) => a.value === 'cache')) continue;
      if (hasCacheMount(c.ins, /yarn|\.cache/)) continue;
      if (sameRunHas(ctx.file, c.ins, (o) => o.name === 'yarn' && o.args.some((a) => a.value === 'cache') && o.args.some((a) => a.value === 'clean'))) continue;
      reportCommand(ctx, c, '`yarn cache clean` missing after `yarn install` was run', fixOf('Add yarn cache clean', appendToRun(c.ins, ' && yarn cache clean')));
    }
  },
});

const dl3062 = commandRule({
  id: 'DL3062',
  severity: 'warning',
  description: 'Pin versions in `go install pkg@v1.2.3` (not `@latest`).',
  names: ['go'],
  subs: ['install'],
  bad: (c) => packageArgs(c, []).some((w) => !w.value.includes('$') && !w.value.startsWith('.') && (!w.value.includes('@') || w.value.endsWith('@latest'))),
  message: 'Pin versions in go install: `go install <module>@<version>`',
});

export const packageRules: Rule[] = [
  dl3027, dl3014, dl3015, dl3008, dl3009, dl3042, dl3013, dl3016, dl3018, dl3019, dl3028,
  dl3030, dl3032, dl3033, dl3038, dl3040, dl3041, dl3034, dl3035, dl3036, dl3037, dl3060, dl3062,
];
