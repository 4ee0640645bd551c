/** BuildKit's checks about variables: UndefinedArgInFrom, UndefinedVar, InvalidDefaultArgInFrom. */
import { PREDEFINED_PLATFORM_ARGS } from '../../engine/dockerfile/index';
import type { Range } from '../../engine/dockerfile/types';
import { scopesOf } from './scopes';
import { imageRefProblem } from './syntax';
import { rule, type Rule } from './types';
import { nearestName } from './util';

const undefinedArgInFrom = rule({
  id: 'UndefinedArgInFrom',
  group: 'buildkit',
  severity: 'warning',
  description: 'FROM should only use ARGs declared before the first FROM.',
  check(ctx) {
    const declared = new Set<string>(PREDEFINED_PLATFORM_ARGS);
    for (const g of ctx.file.globalArgs) for (const d of g.argDeclarations ?? []) declared.add(d.name.value);
    for (const st of ctx.file.stages) {
      const refs: { name: string; range: Range }[] = [];
      const img = st.from.from?.image;
      const s = scopesOf(ctx.file).scopes.stageBase[st.index];
      if (img && s) for (const n of s.unmatched) refs.push({ name: n, range: img.range });
      const plat = st.from.flags.find((f) => f.name === 'platform');
      if (plat?.value) {
        for (const m of plat.value.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) refs.push({ name: m[1]!, range: plat.valueRange ?? plat.range });
      }
      for (const r of refs) {
        if (declared.has(r.name)) continue;
        const near = nearestName(r.name, declared);
        ctx.report({ range: r.range, message: `FROM argument '${r.name}' is not declared${near ? ` (did you mean ${near}?)` : ''}` });
      }
    }
  },
});

/** Names base images commonly set, which BuildKit would find in the image config and we cannot see. */
const COMMON_IMAGE_ENV = new Set(
  'PATH HOME HOSTNAME LANG LANGUAGE LC_ALL TERM PWD USER SHELL TZ GOPATH GOROOT GOLANG_VERSION GOTOOLCHAIN NODE_VERSION YARN_VERSION PYTHON_VERSION PYTHON_SHA256 PIP_VERSION JAVA_HOME JAVA_VERSION RUBY_VERSION GEM_HOME BUNDLE_PATH BUNDLE_SILENCE_ROOT_WARNING BUNDLE_APP_CONFIG CARGO_HOME RUSTUP_HOME RUST_VERSION PHP_VERSION PHP_INI_DIR NGINX_VERSION DEBIAN_FRONTEND MAVEN_HOME MAVEN_CONFIG GRADLE_HOME DOTNET_VERSION ASPNETCORE_URLS LD_LIBRARY_PATH PKG_CONFIG_PATH'.split(' '),
);

const undefinedVar = rule({
  id: 'UndefinedVar',
  group: 'buildkit',
  severity: 'warning',
  description: 'Variables should be defined before they are used.',
  check(ctx) {
    const s = scopesOf(ctx.file);
    // every ARG and ENV name in the file (made when first needed)
    let everywhere: Set<string> | undefined;
    const declaredAnywhere = (name: string): boolean => {
      if (!everywhere) {
        everywhere = new Set<string>();
        for (const ins of ctx.file.instructions) {
          for (const d of ins.argDeclarations ?? []) everywhere.add(d.name.value);
          for (const kv of ins.pairs ?? []) if (ins.keyword === 'ENV') everywhere.add(kv.key.value);
        }
      }
      return everywhere.has(name);
    };
    for (const { stage: st, ins, e } of s.unmatched) {
      {
        const vars = s.scopes.before.get(ins);
        if (!vars) continue;
        const seen = new Set<string>();
        for (const u of e.unmatched) {
          if (seen.has(u.name) || vars.has(u.name)) continue;
          seen.add(u.name);
          if (st.base.kind === 'image' && COMMON_IMAGE_ENV.has(u.name)) continue;
          if (st.base.kind === 'image' && /^[A-Z][A-Z0-9]*_(VERSION|HOME|DIR|PATH|SHA256)$/.test(u.name) && !declaredAnywhere(u.name)) continue;
          const near = nearestName(u.name, vars.keys());
          ctx.report({ range: u.range, instruction: ins, message: `Usage of undefined variable '$${u.name}'${near ? ` (did you mean $${near}?)` : ''}` });
        }
      }
    }
  },
});

const invalidDefaultArgInFrom = rule({
  id: 'InvalidDefaultArgInFrom',
  group: 'buildkit',
  severity: 'warning',
  description: "A global ARG's default leaves the FROM image empty or invalid.",
  check(ctx) {
    const s = scopesOf(ctx.file).scopes;
    for (const st of ctx.file.stages) {
      const img = st.from.from?.image;
      if (!img || !img.value.includes('$')) continue;
      const base = s.stageBase[st.index];
      if (!base || base.error) continue;
      const problem = imageRefProblem(base.image);
      if (problem) ctx.report({ range: img.range, message: `Default value for ARG ${img.value} results in empty or invalid base image name ("${base.image}")` });
    }
  },
});


export const variableRules: Rule[] = [undefinedArgInFrom, undefinedVar, invalidDefaultArgInFrom];
