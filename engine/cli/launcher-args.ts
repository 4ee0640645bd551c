/** The command word (`build`, `images`, …) the launcher keeps a code cache for: the first argument after the
 *  global options (`--root DIR`, `--root=DIR`, flags); `none` without one, `other` for anything unusual. */
export function commandWord(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root') i++;
    else if (!a.startsWith('-')) return /^[a-z_-]{1,32}$/.test(a) ? a : 'other';
  }
  return 'none';
}
