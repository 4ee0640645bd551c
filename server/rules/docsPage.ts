/** The page for a rule in docs/rules/<code>.md, rendered from the rule's data and its test fixtures. */
import type { Rule } from './types';

const GROUP: Record<Rule['group'], { title: string; why: string; silence: (id: string) => string }> = {
  syntax: {
    title: 'Syntax and semantic errors',
    why: 'The build would fail or do something other than what the file says.',
    silence: (id) => `Errors of this kind are not silenced by comments. To hide it anyway, set \`"layerwise.rules.${id}": "off"\`.`,
  },
  buildkit: {
    title: 'BuildKit build check',
    why: 'BuildKit (`docker build`) runs the same check under the same name and prints it as a build warning.',
    silence: (id) => `Add \`# check=skip=${id}\` at the top of the Dockerfile (BuildKit honours it too), or set \`"layerwise.rules.${id}": "off"\`. \`# check=error=true\` turns BuildKit checks into errors.`,
  },
  bestpractice: {
    title: 'Best practice (hadolint)',
    why: 'The same code as hadolint, so existing `# hadolint ignore=` comments keep working.',
    silence: (id) => `Put \`# hadolint ignore=${id}\` on the line above the instruction, or set \`"layerwise.rules.${id}": "off"\`.`,
  },
  cache: {
    title: 'Cache-order hint (Layerwise)',
    why: 'Docker reuses a layer only while every instruction above it is unchanged: what changes least should come first, so edits re-run as few steps as possible.',
    silence: (id) => `Add \`# check=skip=${id}\` at the top of the Dockerfile, or set \`"layerwise.rules.${id}": "off"\`.`,
  },
};

function fence(text: string): string {
  return '```dockerfile\n' + text.replace(/\n$/, '') + '\n```';
}

export function renderRulePage(rule: Rule, examples?: { bad: string[]; good: string[] }, hasFix?: boolean): string {
  const g = GROUP[rule.group];
  const lines = [
    `# ${rule.id}`,
    '',
    `${rule.description}`,
    '',
    `- Group: ${g.title}`,
    `- Default severity: ${rule.severity}${rule.experimental ? ' (experimental: enable with `# check=experimental=' + rule.id + '`)' : ''}`,
  ];
  if (rule.aliases?.length) lines.push(`- Also silenced by: ${rule.aliases.map((a) => `\`# hadolint ignore=${a}\``).join(', ')}`);
  if (rule.tags?.length) lines.push(`- Shown as: ${rule.tags.join(', ')}`);
  if (rule.needsContext) lines.push('- Reads the build context (the Dockerfile\'s folder, or `layerwise.buildContext`) and its `.dockerignore`; re-checked when they change.');
  if (rule.needsImages) lines.push('- Reads the local Layerwise store (`layerwise.storeRoot`, else the engine\'s default); re-checked when it changes.');
  if (rule.needsHistory) lines.push('- Reads the engine\'s build records for this Dockerfile; re-checked after each build.');
  lines.push(`- Quick fix: ${hasFix ? 'yes' : 'no'} (every finding also offers "ignore" and "turn off in settings")`);
  lines.push('', '## Why', '', g.why);
  if (rule.notes) lines.push('', '## How it decides', '', rule.notes);
  if (examples?.bad.length) {
    lines.push('', '## Reported', '');
    for (const b of examples.bad.slice(0, 2)) lines.push(fence(b.replace(/\[\[|\]\]/g, '')), '');
    lines.pop();
  }
  if (examples?.good.length) {
    lines.push('', '## Not reported', '');
    for (const b of examples.good.slice(0, 2)) lines.push(fence(b), '');
    lines.pop();
  }
  lines.push('', '## Turning it off', '', g.silence(rule.id), '');
  return lines.join('\n');
}
