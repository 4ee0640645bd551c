/**
 * EXPOSE's port specs as Docker reads them (go-connections' nat.ParsePortSpec, the version Docker 26 vendors):
 * `[ip:][hostPort:]containerPort[/proto]`, each port a number or a `start-end` range of 0..65535, proto tcp, udp or
 * sctp in any case. Only the container side is exposed; the host part is checked and dropped. Errors carry Docker's
 * messages (`Invalid containerPort: 70000`).
 */
import { isIP } from 'node:net';
import { LayerwiseError } from '../errors';

/** Go's strconv.ParseUint(s, 10, 16): decimal digits only, at most 65535. */
function parseUint16(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** nat.ParsePortRange: `80` or `8000-8010` (Go splits on every `-` and reads the first two parts). */
function parsePortRange(ports: string): [number, number] | undefined {
  if (ports === '') return undefined;
  if (!ports.includes('-')) {
    const n = parseUint16(ports);
    return n === undefined ? undefined : [n, n];
  }
  const parts = ports.split('-');
  const start = parseUint16(parts[0]!);
  const end = parseUint16(parts[1]!);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

/** The exposed-port keys (`80/tcp`) of one EXPOSE word, in order. */
export function exposedPorts(rawPort: string): string[] {
  const parts = rawPort.split(':');
  const n = parts.length;
  const last = parts[n - 1]!;
  const hostPort = n >= 2 ? parts[n - 2]! : '';
  let ip = n >= 3 ? parts.slice(0, n - 2).join(':') : '';
  // SplitProtoPort
  const pp = last.split('/');
  let proto = '';
  let containerPort = '';
  if (last !== '' && pp[0] !== '') {
    if (pp.length === 1) [proto, containerPort] = ['tcp', last];
    else if (pp[1] === '') [proto, containerPort] = ['tcp', pp[0]!];
    else [proto, containerPort] = [pp[1]!, pp[0]!];
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && isIP(ip) === 0) throw new LayerwiseError('build', `Invalid ip address: ${ip}`);
  if (containerPort === '') throw new LayerwiseError('build', `No port specified: ${rawPort}<empty>`);
  const range = parsePortRange(containerPort);
  if (!range) throw new LayerwiseError('build', `Invalid containerPort: ${containerPort}`);
  if (hostPort !== '') {
    const host = parsePortRange(hostPort);
    if (!host) throw new LayerwiseError('build', `Invalid hostPort: ${hostPort}`);
    // a host range goes with a single container port or a container range of the same length
    if (range[1] - range[0] !== host[1] - host[0] && range[1] !== range[0]) {
      throw new LayerwiseError('build', `Invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const p = proto.toLowerCase();
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new LayerwiseError('build', `Invalid proto: ${proto}`);
  const out: string[] = [];
  for (let port = range[0]; port <= range[1]; port++) out.push(`${port}/${p}`);
  return out;
}
