/**
 * Layerwise settings as the language server sees them, fetched per resource (workspace/configuration, section
 * `layerwise`) and cached until the client says they changed.
 */
import type { Connection } from 'vscode-languageserver';

/** What `layerwise.rules.<code>` may say. */
export type RuleSeveritySetting = 'off' | 'hint' | 'info' | 'warning' | 'error';

export const RULE_SEVERITY_SETTINGS: readonly RuleSeveritySetting[] = ['off', 'hint', 'info', 'warning', 'error'];

export interface LayerwiseSettings {
  /** per-rule severity overrides, keyed by the diagnostic code (`DL3008`, `JSONArgsRecommended`) */
  rules: Record<string, RuleSeveritySetting>;
  /** the build context folder; relative paths are resolved against the Dockerfile's folder. Empty: that folder. */
  buildContext: string;
  /** diagnostics on or off as a whole */
  diagnosticsEnabled: boolean;
  /** the rest of the `layerwise` section, untouched, for features that read their own keys */
  raw: Record<string, unknown>;
}

export const defaultSettings: LayerwiseSettings = Object.freeze({
  rules: {},
  buildContext: '',
  diagnosticsEnabled: true,
  raw: {},
}) as LayerwiseSettings;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Accepts `info`/`information`, `warn`/`warning`, any case; anything else is ignored. */
export function normalizeRuleSeverity(v: unknown): RuleSeveritySetting | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'information') return 'info';
  if (s === 'warn') return 'warning';
  if (s === 'none' || s === 'ignore' || s === 'disabled') return 'off';
  return (RULE_SEVERITY_SETTINGS as readonly string[]).includes(s) ? (s as RuleSeveritySetting) : undefined;
}

/** Turns whatever the client sent for the `layerwise` section into settings; bad values fall back to defaults. */
export function normalizeSettings(raw: unknown): LayerwiseSettings {
  if (!isRecord(raw)) return { ...defaultSettings, rules: {}, raw: {} };
  const rules: Record<string, RuleSeveritySetting> = {};
  if (isRecord(raw.rules)) {
    for (const [code, v] of Object.entries(raw.rules)) {
      const s = normalizeRuleSeverity(v);
      if (s) rules[code] = s;
    }
  }
  // Dotted keys (`"layerwise.rules.DL3008": "off"` flattened by some clients) are accepted too.
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('rules.')) {
      const s = normalizeRuleSeverity(v);
      if (s) rules[k.slice('rules.'.length)] = s;
    }
  }
  const buildContext = typeof raw.buildContext === 'string' ? raw.buildContext : '';
  let diagnosticsEnabled = true;
  if (isRecord(raw.diagnostics) && typeof raw.diagnostics.enabled === 'boolean') diagnosticsEnabled = raw.diagnostics.enabled;
  return { rules, buildContext, diagnosticsEnabled, raw };
}

/**
 * Per-resource settings. With a client that supports workspace/configuration each document's settings are
 * requested (and cached) per URI; otherwise the last didChangeConfiguration payload applies to all.
 */
export class SettingsStore {
  private readonly perUri = new Map<string, Promise<LayerwiseSettings>>();
  private global: LayerwiseSettings = normalizeSettings(undefined);
  private readonly listeners: (() => void)[] = [];
  /** set by the server once the client's capabilities are known */
  supportsConfiguration = false;

  constructor(private readonly connection?: Connection) {}

  /** Settings for one document (or the workspace when `uri` is undefined). Never rejects. */
  get(uri?: string): Promise<LayerwiseSettings> {
    if (!this.supportsConfiguration || !this.connection || uri === undefined) return Promise.resolve(this.global);
    let p = this.perUri.get(uri);
    if (!p) {
      const conn = this.connection;
      p = conn.workspace
        .getConfiguration({ scopeUri: uri, section: 'layerwise' })
        .then((raw: unknown) => normalizeSettings(raw))
        .catch(() => this.global);
      this.perUri.set(uri, p);
    }
    return p;
  }

  /** didChangeConfiguration: drop the cache (and take the pushed payload when the client pushes settings). */
  changed(payload?: unknown): void {
    this.perUri.clear();
    if (isRecord(payload) && isRecord(payload.layerwise)) this.global = normalizeSettings(payload.layerwise);
    for (const l of this.listeners) l();
  }

  forget(uri: string): void {
    this.perUri.delete(uri);
  }

  onDidChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}
