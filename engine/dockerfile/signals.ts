/**
 * Signal names as Docker parses them (moby/sys/signal's ParseSignal, Linux table): a number other than 0, or a name
 * with or without `SIG`, in any case. STOPSIGNAL is checked with it by the builder and the language server alike.
 */
const NAMES: Record<string, number> = {
  ABRT: 6, ALRM: 14, BUS: 7, CHLD: 17, CLD: 17, CONT: 18, FPE: 8, HUP: 1, ILL: 4, INT: 2, IO: 29, IOT: 6, KILL: 9,
  PIPE: 13, POLL: 29, PROF: 27, PWR: 30, QUIT: 3, SEGV: 11, STKFLT: 16, STOP: 19, SYS: 31, TERM: 15, TRAP: 5,
  TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, USR1: 10, USR2: 12, VTALRM: 26, WINCH: 28, XCPU: 24, XFSZ: 25,
  RTMIN: 34, RTMAX: 64,
};
for (let i = 1; i <= 15; i++) NAMES[`RTMIN+${i}`] = 34 + i;
for (let i = 1; i <= 14; i++) NAMES[`RTMAX-${i}`] = 64 - i;

/** The signal's number, or undefined when Docker would say `invalid signal: <text>`. */
export function parseSignal(text: string): number | undefined {
  // Go's strconv.Atoi: an optional sign and decimal digits, within int64
  if (/^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    return n !== 0 && Number.isSafeInteger(n) ? n : undefined;
  }
  const upper = text.toUpperCase();
  return NAMES[upper.startsWith('SIG') ? upper.slice(3) : upper];
}
