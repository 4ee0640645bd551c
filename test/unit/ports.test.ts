// run -p: Docker's port specs, and the forwarders (TCP and UDP, against servers on loopback standing in for a
// container's, which shares the host's network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { parsePublish, publishPorts } from '../../engine/runtime/ports';
import { LayerwiseError } from '../../engine/errors';

test('parsePublish: every form docker run -p takes, and its refusals', () => {
  assert.deepEqual(parsePublish('8080:80'), [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }]);
  assert.deepEqual(parsePublish('80'), [{ hostIp: '', hostPort: 0, containerPort: 80, proto: 'tcp' }]);
  assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'udp' }]);
  assert.deepEqual(parsePublish('127.0.0.1::80'), [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, proto: 'tcp' }]);
  assert.deepEqual(parsePublish('[::1]:8080:80/TCP'), [{ hostIp: '::1', hostPort: 8080, containerPort: 80, proto: 'tcp' }]);
  assert.deepEqual(parsePublish('8000-8001:80-81').map((m) => `${m.hostPort}:${m.containerPort}`), ['8000:80', '8001:81']);
  assert.deepEqual(parsePublish('80-81').map((m) => `${m.hostPort}:${m.containerPort}`), ['0:80', '0:81']);
  // a host range for one container port: the first of it
  assert.deepEqual(parsePublish('8000-8010:80').map((m) => `${m.hostPort}:${m.containerPort}`), ['8000:80']);
  const refused: [string, RegExp][] = [
    ['99999:80', /invalid hostPort: 99999/],
    ['80:abc', /invalid containerPort: abc/],
    ['80:0', /invalid containerPort: 0/],
    ['1.2.3:80:80', /invalid IP address: 1\.2\.3/],
    ['80/icmp', /invalid proto: icmp/],
    ['80/sctp', /sctp ports is not supported/],
    ['8000-8002:80-81', /invalid ranges specified for container and host Ports: 80-81 and 8000-8002/],
    ['a:b:c:d', /invalid port specification/],
    ['8080:', /no port specified/],
  ];
  for (const [spec, re] of refused) {
    assert.throws(() => parsePublish(spec), (e: unknown) => e instanceof LayerwiseError && e.kind === 'usage' && re.test(e.message), spec);
  }
});

test('publishPorts: TCP both ways, UDP replies to their sender; the same port starts nothing; a taken port fails and frees the rest', async () => {
  // the "container": a TCP server answering in upper case, a UDP echo with a prefix
  const tcp = createServer((s) => s.on('data', (d) => s.end(d.toString().toUpperCase())));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const tcpPort = (tcp.address() as AddressInfo).port;
  const udp = createSocket('udp4');
  udp.on('message', (m, from) => udp.send(Buffer.concat([Buffer.from('echo:'), m]), from.port, from.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const udpPort = udp.address().port;
  const pub = await publishPorts([
    { hostIp: '127.0.0.1', hostPort: 0, containerPort: tcpPort, proto: 'tcp' },
    { hostIp: '127.0.0.1', hostPort: 0, containerPort: udpPort, proto: 'udp' },
    { hostIp: '', hostPort: 4242, containerPort: 4242, proto: 'tcp' },
  ]);
  try {
    const [t, u, same] = pub.bound;
    assert.ok(t!.hostPort > 0 && t!.hostPort !== tcpPort);
    assert.deepEqual(same, { hostIp: '', hostPort: 4242, containerPort: 4242, proto: 'tcp' });
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect(t!.hostPort, '127.0.0.1', () => c.write('hello'));
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(reply, 'HELLO');
    const client = createSocket('udp4');
    const answer = await new Promise<string>((resolve) => {
      client.on('message', (m) => resolve(m.toString()));
      client.send('ping', u!.hostPort, '127.0.0.1');
    });
    client.close();
    assert.equal(answer, 'echo:ping');
    // a port that is taken: a clear error, and the forwarders started before it are closed again
    const taken = t!.hostPort;
    await assert.rejects(
      publishPorts([
        { hostIp: '127.0.0.1', hostPort: 0, containerPort: tcpPort, proto: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: taken, containerPort: tcpPort, proto: 'tcp' },
      ]),
      new RegExp(`cannot publish ${tcpPort}/tcp: bind for 127\\.0\\.0\\.1:${taken} failed: port is already allocated`),
    );
  } finally {
    await pub.close();
    await pub.close(); // twice is harmless
  }
  // closed: the host port is free again
  const again = await publishPorts([{ hostIp: '127.0.0.1', hostPort: pub.bound[0]!.hostPort, containerPort: tcpPort, proto: 'tcp' }]);
  await again.close();
  tcp.close();
  udp.close();
});
