/**
 * The shell programs that set a sandbox up from the HOST side, inside the new namespaces, before the command
 * starts. They run with the host's /bin/sh and host tools (util-linux mount, setpriv, unshare; coreutils), so
 * the container needs no shell or tools of its own.
 *
 * INIT_SCRIPT is process 1 of the sandbox's pid namespace. It talks to the engine over fd 3 (a socket) in lines:
 *   -> `ready <host pid>`    namespaces exist; the engine writes the id maps (rootless), answers `go`
 *   -> `mounted`             the overlay is mounted; the engine resolves paths and users through
 *                            /proc/<pid>/root, writes setup.sh into the state dir, answers `go`
 *   -> `started`             setup.sh ran (mounts, stubs, hostname); sent by the command's own process
 *                            right before it execs, so the command's process exists when this arrives
 *   -> `exit <status>`       the command ended; leftovers were killed, stubs removed
 *   -> `error <message>`     set-up failed (details on fd 2, which is the engine's diagnostics pipe)
 * fd 4 is the command's stderr (the command's shell moves it to fd 2 itself: process 1 keeps the diagnostics pipe, so
 * its own words, such as dash's "Terminated" for a command killed by a signal, never reach the container's output).
 * When process 1 exits, the kernel kills every process left in the pid namespace, and the mount namespace (with
 * every mount of the sandbox) goes away with it.
 */
import { LayerwiseError } from '../errors';

/** Quotes a string for /bin/sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export const INIT_SCRIPT = `
lw_say() { printf '%s\\n' "$*" >&3; }
lw_die() { lw_say "error $*"; exit 125; }
lw_go() { IFS= read -r lw_r <&3 || exit 125; [ "$lw_r" = go ] || exit 125; }
lw_cleanup() { :; }
umask 022
read -r lw_pid lw_rest < /proc/self/stat || lw_die "cannot read /proc/self/stat"
lw_say "ready $lw_pid"
lw_go
cd "$LW_OVL_CWD" || lw_die "cannot enter $LW_OVL_CWD"
mount -t overlay overlay -o "nodev,$LW_OVL_OPTS" "$LW_ROOT" || lw_die "mounting the overlay failed"
cd /
lw_say mounted
lw_go
. "$LW_STATE/setup.sh"
[ -z "$lw_exec" ] || exec "$LW_SH" -c 'exec 2>&4 4>&-; printf "started\n" >&3; exec 3>&- "$@"' layerwise-exec "$@"
"$LW_SH" -c 'exec 2>&4 4>&-; printf "started\n" >&3; exec 3>&- "$@"' layerwise-exec "$@"
lw_st=$?
kill -KILL -1 2>/dev/null
lw_cleanup 2>/dev/null
lw_say "exit $lw_st"
exit "$lw_st"
`;

/** Builds setup.sh, the second phase (sourced by INIT_SCRIPT with `R` = the merged root on the host side). */
export class SetupScript {
  private readonly lines: string[] = ['R="$LW_ROOT"'];
  private readonly cleanup: string[] = [];

  /** a command that must succeed, else set-up fails with `what` */
  must(cmd: string, what: string): this {
    this.lines.push(`${cmd} || lw_die ${shq(what)}`);
    return this;
  }

  /** a command whose failure is ignored */
  may(cmd: string): this {
    this.lines.push(`${cmd} 2>/dev/null || true`);
    return this;
  }

  raw(line: string): this {
    this.lines.push(line);
    return this;
  }

  /** after the command: a line of the cleanup function (errors ignored) */
  onCleanup(line: string): this {
    this.cleanup.push(line);
    return this;
  }

  /** a cleanup line that runs before all others */
  onCleanupFirst(line: string): this {
    this.cleanup.unshift(line);
    return this;
  }

  /** `$R` + container path, quoted */
  static inRoot(containerPath: string): string {
    return containerPath === '/' ? '"$R"' : `"$R"${shq(containerPath)}`;
  }

  /** sets the positional parameters to the final command and finishes */
  build(finalArgv: string[]): string {
    const out = [...this.lines];
    out.push(`lw_cleanup() {\n${this.cleanup.length ? this.cleanup.map((l) => `  ${l}`).join('\n') : '  :'}\n}`);
    out.push(`set -- ${finalArgv.map(shq).join(' ')}`);
    return out.join('\n') + '\n';
  }
}

/** Every capability Linux names (up to CAP_CHECKPOINT_RESTORE), as setpriv names them. */
export const ALL_CAPS = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap', 'linux_immutable',
  'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner', 'sys_module', 'sys_rawio',
  'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time',
  'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap', 'mac_override', 'mac_admin', 'syslog',
  'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf', 'checkpoint_restore',
];

/**
 * A container's capabilities from `docker run --cap-add/--cap-drop` (names with or without CAP_, any case; ALL):
 * Docker's default set, without what is dropped (ALL: nothing), with what is added (ALL: every one). Throws on an
 * unknown name, as the daemon refuses it.
 */
export function capabilitySet(add: readonly string[], drop: readonly string[]): string[] {
  const norm = (kind: string, c: string): string => {
    const n = c.toLowerCase().replace(/^cap_/, '');
    if (n !== 'all' && !ALL_CAPS.includes(n)) throw new LayerwiseError('invalid', `invalid ${kind}: unknown capability: ${JSON.stringify(c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : 'CAP_' + c.toUpperCase())}`);
    return n;
  };
  const adds = add.map((c) => norm('CapAdd', c));
  const drops = drop.map((c) => norm('CapDrop', c));
  if (adds.includes('all')) return [...ALL_CAPS];
  const base = drops.includes('all') ? [] : DEFAULT_CAPS.filter((c) => !drops.includes(c));
  return ALL_CAPS.filter((c) => base.includes(c) || adds.includes(c));
}

/** Docker's default capability set for containers (moby oci/caps/defaults.go), as setpriv names. */
export const DEFAULT_CAPS = [
  'chown', 'dac_override', 'fsetid', 'fowner', 'mknod', 'net_raw', 'setgid', 'setuid', 'setfcap', 'setpcap',
  'net_bind_service', 'sys_chroot', 'kill', 'audit_write',
];
