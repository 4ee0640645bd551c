/**
 * `run -p`: published ports. A container here shares the host's network (no bridge, no NAT), so a port the
 * command listens on is a port of the host already; publishing it on another host port (`-p 8080:80`) is a
 * forwarder in the CLI process: TCP connections and UDP datagrams that reach the host port go to 127.0.0.1 on the
 * container port, for as long as the container runs. `-p 80:80` (the same port) needs nothing and starts
 * nothing. The specs are read as Docker's CLI reads them (docker/go-connections nat.ParsePortSpec):
 * `[IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`, ports or ranges (`8000-8001:80-81`), IPv6 in brackets.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, isIP, type Server } from 'node:net';
import { LayerwiseError } from '../errors';

export interface PortMapping {
  /** '' = every address (Docker's 0.0.0.0 and [::]) */
  hostIp: string;
  /** 0 = a free port the system picks */
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

function usage(msg: string): LayerwiseError {
  return new LayerwiseError('usage', msg);
}

function portRange(s: string, what: 'containerPort' | 'hostPort'): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  const bad = () => usage(`invalid ${what}: ${s}`);
  if (!m) throw bad();
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a || (what === 'containerPort' && a === 0)) throw bad();
  return [a, b];
}

/** One `-p` value: its mappings (one per port of a range). */
export function parsePublish(spec: string): PortMapping[] {
  let rest = spec;
  let proto: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p === 'sctp') throw usage(`publishing sctp ports is not supported: ${spec}`);
    if (p !== 'tcp' && p !== 'udp') throw usage(`invalid proto: ${rest.slice(slash + 1)}`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  let hostIp = '';
  let hostPart = '';
  let containerPart: string;
  // [v6]:host:container, ip:host:container, host:container, container
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1]!;
    const parts = v6[2]!.split(':');
    if (parts.length !== 2) throw usage(`invalid port specification: "${spec}"`);
    [hostPart, containerPart] = parts as [string, string];
  } else {
    const parts = rest.split(':');
    if (parts.length === 1) containerPart = parts[0]!;
    else if (parts.length === 2) [hostPart, containerPart] = parts as [string, string];
    else if (parts.length === 3) [hostIp, hostPart, containerPart] = parts as [string, string, string];
    else throw usage(`invalid port specification: "${spec}"`);
  }
  if (hostIp && !isIP(hostIp)) throw usage(`invalid IP address: ${hostIp}`);
  if (!containerPart) throw usage(`no port specified: ${spec}<empty>`);
  const [c0, c1] = portRange(containerPart, 'containerPort');
  const [h0, h1] = hostPart ? portRange(hostPart, 'hostPort') : [0, 0];
  const n = c1 - c0 + 1;
  if (hostPart && h1 - h0 + 1 !== n && !(n === 1 && h1 > h0)) {
    throw usage(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  const out: PortMapping[] = [];
  for (let i = 0; i < n; i++) out.push({ hostIp, hostPort: hostPart ? (n === 1 ? h0 : h0 + i) : 0, containerPort: c0 + i, proto });
  return out;
}

export interface Published {
  /** what each mapping is bound to (the port the system picked, for a host port 0) */
  bound: PortMapping[];
  close(): Promise<void>;
}

const UDP_IDLE_MS = 120_000;

function listenTcp(m: PortMapping): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = connect(m.containerPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: m.hostPort, host: m.hostIp || '::', ipv6Only: false }, () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

function listenUdp(m: PortMapping): Promise<{ socket: UdpSocket; port: number; close: () => void }> {
  const family = m.hostIp && isIP(m.hostIp) === 4 ? 'udp4' : 'udp6';
  const socket = createSocket({ type: family, ipv6Only: false });
  // one upstream socket per client, so that the container's replies find their way back
  const clients = new Map<string, { up: UdpSocket; timer: NodeJS.Timeout }>();
  const forget = (key: string) => {
    const c = clients.get(key);
    if (!c) return;
    clearTimeout(c.timer);
    c.up.close();
    clients.delete(key);
  };
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}|${from.port}`;
    let c = clients.get(key);
    if (!c) {
      const up = createSocket('udp4');
      up.on('message', (reply: Buffer) => socket.send(reply, from.port, from.address));
      up.on('error', () => forget(key));
      c = { up, timer: setTimeout(() => forget(key), UDP_IDLE_MS) };
      clients.set(key, c);
    }
    c.timer.refresh();
    c.up.send(msg, m.containerPort, '127.0.0.1');
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: m.hostPort, address: m.hostIp || '::' }, () => {
      socket.off('error', reject);
      resolve({
        socket,
        port: socket.address().port,
        close: () => {
          for (const k of [...clients.keys()]) forget(k);
          socket.close();
        },
      });
    });
  });
}

/**
 * Start forwarding for `mappings`; a host port that cannot be bound fails the whole (nothing left listening). A
 * mapping onto the same port (`80:80`) is the container's own port on the host: nothing is started for it.
 */
export async function publishPorts(mappings: PortMapping[]): Promise<Published> {
  const closers: (() => Promise<void>)[] = [];
  const bound: PortMapping[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(closers.map((c) => c()));
  };
  try {
    for (const m of mappings) {
      if (m.hostPort === m.containerPort) {
        bound.push(m);
        continue;
      }
      try {
        if (m.proto === 'tcp') {
          const { server, port } = await listenTcp(m);
          server.unref();
          closers.push(() => new Promise<void>((r) => server.close(() => r())));
          bound.push({ ...m, hostPort: port });
        } else {
          const u = await listenUdp(m);
          u.socket.unref();
          closers.push(async () => u.close());
          bound.push({ ...m, hostPort: u.port });
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'port is already allocated' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such address on this host' : (e as Error).message;
        throw new LayerwiseError('io', `cannot publish ${m.containerPort}/${m.proto}: bind for ${m.hostIp || '0.0.0.0'}:${m.hostPort} failed: ${why}`);
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { bound, close };
}
