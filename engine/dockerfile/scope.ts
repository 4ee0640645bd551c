/**
 * Variables as BuildKit evaluates them: global ARGs (before the first FROM, usable in FROM lines only),
 * stage ARGs (a build arg overrides the default; a bare `ARG X` inherits the global X), ENV (wins over an ARG of
 * the same name), BuildKit's predefined platform ARGs, and the instructions BuildKit expands, each with the
 * variables as they were *before* the instruction (one value per variable per instruction).
 *
 * The builder and the language server both use this, so hover, UndefinedVar and the build agree.
 */
import { expandWord, expandWordOr, expandWords, type ShellEnv } from './shell';
import type { ArgDeclaration, Dockerfile, Instruction, Range, Stage, Token } from './types';

export type VarKind = 'global-arg' | 'arg' | 'env' | 'predefined' | 'image-env';


/** The PATH of an image config that sets none (BuildKit's system.DefaultPathEnv for Linux). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface VarDef {
  name: string;
  /** undefined: declared without a value (an ARG with no default and no build arg) */
  value: string | undefined;
  kind: VarKind;
  /** the declaring instruction and the name's range, when it comes from this Dockerfile */
  instruction?: Instruction;
  nameRange?: Range;
  /** the value came from --build-arg */
  fromBuildArg?: boolean;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ScopeOptions {
  buildArgs?: Record<string, string>;
  targetPlatform?: Platform;
  buildPlatform?: Platform;
  /** the ENV of a stage's base image (the builder knows it; the editor may not) */
  baseImageEnv?: (stage: Stage, baseRef: string) => Record<string, string> | undefined;
  /** the ONBUILD triggers a stage's base hands down, parsed: they run right after FROM, so their ARG and ENV count
   *  for each other and for the stage's own instructions (the builder knows them; `before` gets an entry for each) */
  triggers?: (stage: Stage) => readonly Instruction[] | undefined;
}

export type Vars = ReadonlyMap<string, VarDef>;

/** The variables each instruction is evaluated with: a Map, or a view that answers the same (the language server
 *  carries one over an edit without copying it). */
export interface VarsByInstruction {
  get(ins: Instruction): Vars | undefined;
}

/** A copy of a Map (Map's own constructor goes through the iterator protocol: an entry array per entry). */
export function copyMap<K, V>(m: ReadonlyMap<K, V>): Map<K, V> {
  const out = new Map<K, V>();
  m.forEach((v, k) => out.set(k, v));
  return out;
}

export interface Scopes {
  /** after the global ARGs: what FROM lines see */
  global: Vars;
  /** the variables an instruction is evaluated with (before its own effect) */
  before: VarsByInstruction;
  /** the variables at the end of each stage */
  stageEnd: Vars[];
  /** each stage's FROM image after expansion with the global scope */
  stageBase: { image: string; platform?: string; error?: string; unmatched: string[] }[];
  /** every ARG that was given a value with --build-arg and declared somewhere */
  usedBuildArgs: Set<string>;
}

export const PREDEFINED_PLATFORM_ARGS = [
  'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT',
  'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT',
];
/** build args BuildKit accepts without an ARG declaration (not expanded in the Dockerfile) */
export const PREDEFINED_PROXY_ARGS = [
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
];

export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const p: Platform = { os: 'linux', architecture: arch[process.arch] ?? process.arch };
  if (p.architecture === 'arm') p.variant = 'v7';
  return p;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

function platformArgs(opts: ScopeOptions): Record<string, string> {
  const t = opts.targetPlatform ?? hostPlatform();
  const b = opts.buildPlatform ?? hostPlatform();
  return {
    TARGETPLATFORM: formatPlatform(t),
    TARGETOS: t.os,
    TARGETARCH: t.architecture,
    TARGETVARIANT: t.variant ?? '',
    BUILDPLATFORM: formatPlatform(b),
    BUILDOS: b.os,
    BUILDARCH: b.architecture,
    BUILDVARIANT: b.variant ?? '',
  };
}

/** A ShellEnv over Vars (variables declared without a value are unset). */
export function shellEnv(vars: Vars): ShellEnv {
  return {
    get: (name) => vars.get(name)?.value,
    keys: () => [...vars.keys()].filter((k) => vars.get(k)!.value !== undefined),
  };
}

export function resolveScopes(df: Dockerfile, opts: ScopeOptions = {}): Scopes {
  const buildArgs = opts.buildArgs ?? {};
  const plat = platformArgs(opts);
  const usedBuildArgs = new Set<string>();
  const global = new Map<string, VarDef>();
  for (const [k, v] of Object.entries(plat)) global.set(k, { name: k, value: v, kind: 'predefined' });
  const before = new Map<Instruction, Vars>();
  // one options object for every expansion here
  const lexOpts = { escape: df.escape };
  /** an ARG's value: the build arg when given, else its default expanded with the variables before it */
  const argValue = (d: ArgDeclaration, env: ShellEnv): { value: string | undefined; fromBuildArg: boolean } => {
    const name = d.name.value;
    if (Object.prototype.hasOwnProperty.call(buildArgs, name)) {
      usedBuildArgs.add(name);
      return { value: buildArgs[name], fromBuildArg: true };
    }
    if (!d.defaultValue) return { value: undefined, fromBuildArg: false };
    return { value: expandWordOr(d.defaultValue.value, env, lexOpts, d.defaultValue.value), fromBuildArg: false };
  };

  for (const ins of df.globalArgs) {
    before.set(ins, copyMap(global));
    const env = shellEnv(global);
    for (const d of ins.argDeclarations ?? []) {
      const { value, fromBuildArg } = argValue(d, env);
      global.set(d.name.value, { name: d.name.value, value, kind: 'global-arg', instruction: ins, nameRange: d.name.range, fromBuildArg });
    }
  }

  const stageEnd: Vars[] = [];
  const stageBase: Scopes['stageBase'] = [];
  const genv = shellEnv(global);
  // the maps in `before` are read-only snapshots: instructions that see the same variables share one
  const globalSnapshot: Vars = copyMap(global);
  for (const st of df.stages) {
    before.set(st.from, globalSnapshot);
    const img = st.from.from?.image?.value ?? '';
    const r = expandWord(img, genv, lexOpts);
    const base: Scopes['stageBase'][number] = r.ok
      ? { image: r.value, unmatched: [...r.unmatched] }
      : { image: img, error: r.error, unmatched: [] };
    const platFlag = st.from.flags.find((f) => f.name === 'platform');
    if (platFlag?.value !== undefined) {
      base.platform = expandWordOr(platFlag.value, genv, lexOpts, platFlag.value);
    }
    stageBase.push(base);

    // the stage starts with its base's ENV: an earlier stage's, or the image's (when the caller knows it)
    const vars = new Map<string, VarDef>();
    if (st.base.kind === 'stage') {
      for (const [k, v] of stageEnd[st.base.stage] ?? []) if (v.kind === 'env' || v.kind === 'image-env') vars.set(k, v);
    } else if (st.base.kind === 'image') {
      const env = opts.baseImageEnv?.(st, base.image);
      for (const [k, v] of Object.entries(env ?? {})) vars.set(k, { name: k, value: v, kind: 'image-env' });
      // an image whose config has no PATH gets the default one, as its stage's config does
      if (env && !('PATH' in env)) vars.set('PATH', { name: 'PATH', value: DEFAULT_PATH, kind: 'image-env' });
    } else {
      // BuildKit's empty image (scratch) has the default PATH in its config: `ENV PATH=$PATH:/x` extends it
      vars.set('PATH', { name: 'PATH', value: DEFAULT_PATH, kind: 'image-env' });
    }
    let snapshot: Vars | undefined;
    const triggers = opts.triggers?.(st);
    for (const ins of triggers?.length ? [...triggers, ...st.instructions] : st.instructions) {
      // a new snapshot only after an ENV or ARG changed the variables
      const cur: Vars = (snapshot ??= copyMap(vars));
      before.set(ins, cur);
      if (ins.keyword !== 'ENV' && ins.keyword !== 'ARG') continue;
      snapshot = undefined;
      // one value per variable per instruction: everything in it expands with the variables from before it
      const env = shellEnv(cur);
      if (ins.keyword === 'ENV') {
        for (const kv of ins.pairs ?? []) {
          const name = expandWordOr(kv.key.value, env, lexOpts, kv.key.value);
          const value = expandWordOr(kv.value.value, env, lexOpts, kv.value.value);
          vars.set(name, { name, value, kind: 'env', instruction: ins, nameRange: kv.key.range });
        }
      } else if (ins.keyword === 'ARG') {
        for (const d of ins.argDeclarations ?? []) {
          const name = d.name.value;
          let { value, fromBuildArg } = argValue(d, env);
          if (value === undefined && !d.defaultValue) {
            // a bare `ARG X` in a stage takes the global X, or the predefined platform value
            if (global.has(name)) value = global.get(name)!.value;
            else if (PREDEFINED_PLATFORM_ARGS.includes(name)) value = plat[name as keyof typeof plat] ?? undefined;
          }
          // a later ARG with a value overrides an ENV for what follows (BuildKit adds it to the build state's
          // environment); one without a value leaves the ENV alone. ENV after ARG overrides the ARG.
          const existing = vars.get(name);
          if (value === undefined && existing && (existing.kind === 'env' || existing.kind === 'image-env')) continue;
          vars.set(name, { name, value, kind: 'arg', instruction: ins, nameRange: d.name.range, fromBuildArg });
        }
      }
    }
    stageEnd.push(vars);
  }
  return { global, before, stageEnd, stageBase, usedBuildArgs };
}

export interface ExpandedWord {
  value: string;
  source: Token;
}

export interface ExpansionIssue {
  message: string;
  range: Range;
}

export interface Expanded {
  /** COPY/ADD sources, VOLUME paths, EXPOSE ports, …: the instruction's expanded words */
  words: ExpandedWord[];
  /** ENV/LABEL pairs with key and value expanded (quotes processed) */
  pairs: { key: string; value: string }[];
  /** expanded flag values by flag name (COPY/ADD --chown, ADD --checksum, FROM --platform, RUN --mount) */
  flags: Map<string, string[]>;
  errors: ExpansionIssue[];
  /** variables referenced but not set, with where */
  unmatched: { name: string; range: Range }[];
  /** variables the instruction used */
  matched: Set<string>;
}

/** The instructions BuildKit expands, and what it expands in them. */
const EXPANDED_FLAGS: Record<string, string[]> = {
  // not --chmod: Docker 26's frontend (1.7) takes its value as written (an `$X` there is not a number, and ignored)
  COPY: ['chown'],
  ADD: ['chown', 'checksum'],
  RUN: ['mount'],
  FROM: ['platform'],
};

/**
 * Expands `ins` with `vars` exactly where BuildKit does: ENV and LABEL keys and values; COPY/ADD sources,
 * destination and --chown (ADD: --checksum); WORKDIR, USER, STOPSIGNAL; VOLUME paths; EXPOSE ports (split
 * into words); RUN --mount values; FROM image and --platform (with the global scope). RUN/CMD/ENTRYPOINT
 * text is left to the shell.
 */
export function expandInstruction(ins: Instruction, vars: Vars, escape: '\\' | '`' = '\\'): Expanded {
  const out: Expanded = { words: [], pairs: [], flags: new Map(), errors: [], unmatched: [], matched: new Set() };
  const env = shellEnv(vars);
  const lexOpts = { escape };
  const one = (t: Token, split = false): string[] => {
    const r = split ? expandWords(t.value, env, lexOpts) : expandWord(t.value, env, lexOpts);
    if (!r.ok) {
      out.errors.push({ message: r.error, range: t.range });
      return [t.value];
    }
    for (const m of r.matched) out.matched.add(m);
    for (const u of r.unmatched) out.unmatched.push({ name: u, range: t.range });
    return split ? r.words : [r.value];
  };
  for (const name of EXPANDED_FLAGS[ins.keyword] ?? []) {
    for (const f of ins.flags) {
      if (f.name !== name || f.value === undefined) continue;
      const v = one({ value: f.value, range: f.valueRange ?? f.range })[0]!;
      out.flags.set(name, [...(out.flags.get(name) ?? []), v]);
    }
  }
  switch (ins.keyword) {
    case 'ENV':
    case 'LABEL':
      for (const kv of ins.pairs ?? []) out.pairs.push({ key: one(kv.key)[0]!, value: one(kv.value)[0]! });
      break;
    case 'COPY':
    case 'ADD': {
      const heredocNames = new Set(ins.heredocs.map((h) => h.name));
      for (const s of ins.copy?.sources ?? []) {
        const isHeredoc = /^\d*<<-?/.test(s.value) && [...heredocNames].some((n) => s.value.includes(n));
        out.words.push({ value: isHeredoc ? s.value : one(s)[0]!, source: s });
      }
      if (ins.copy?.dest) out.words.push({ value: one(ins.copy.dest)[0]!, source: ins.copy.dest });
      break;
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'VOLUME':
    case 'FROM':
      for (const a of ins.keyword === 'FROM' ? (ins.from?.image ? [ins.from.image] : []) : ins.args)
        out.words.push({ value: one(a)[0]!, source: a });
      break;
    case 'EXPOSE':
      for (const a of ins.args) for (const w of one(a, true)) out.words.push({ value: w, source: a });
      break;
  }
  return out;
}
