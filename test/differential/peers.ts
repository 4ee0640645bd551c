/**
 * What every differential test starts from: builds possible here, the CLI bundle built, the shared Docker 26
 * daemon up, and the same deterministic busybox image loaded into Docker and into a fresh store of ours under
 * one name (checked to have one image id on both sides).
 */
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadArchive } from '../../engine/store/load';
import { buildUnavailableReason, newKit, type Kit } from '../helpers/build';
import { dockerUnavailableReason, startDocker, type DockerPeer } from '../helpers/docker';
import { busyboxImageTar } from '../helpers/rootfs';

export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
export const BASE = 'lwdiff-busybox:latest';

/** A fixture's meta.json (see build.test.ts). */
export interface FixtureMeta {
  buildArgs?: Record<string, string>;
  target?: string;
  parent?: { dockerfile: string; tag: string };
  /** Docker 26's built-in Dockerfile frontend rejects this fixture (labs-only flags, needing a `# syntax=` image
   * that cannot be pulled here) with this message: the test checks that, and that our build succeeds. */
  dockerRejects?: string;
  gitRepo?: string;
  /** a folder of the fixture served over HTTP on loopback to both builders (taken out of the context), whose URL
   *  comes in as the build arg HTTP_URL: files with their Last-Modified time, as a plain static server */
  httpDir?: string;
  /** a difference from Docker found and not fixed yet, with its cause: the differential test runs the fixture as
   *  `todo`, the memo test leaves it out (our build fails on purpose) */
  knownDifference?: string;
}

export type Peers = { skip: string } | { skip?: undefined; docker: DockerPeer; kit: Kit };

export async function startPeers(): Promise<Peers> {
  const unavailable = await buildUnavailableReason();
  if (unavailable) return { skip: unavailable };
  if (!existsSync(CLI)) return { skip: 'dist/cli.js is missing (npm run build)' };
  const docker = await startDocker();
  if (!docker) return { skip: dockerUnavailableReason() ?? 'docker peer unavailable' };
  const base = (await busyboxImageTar(BASE))!;
  const loaded = await docker.run(['load', '-i', base.path]);
  assert.equal(loaded.code, 0, loaded.stderr);
  const kit = await newKit();
  await loadArchive(kit.store, createReadStream(base.path));
  const id = (await docker.run(['image', 'inspect', '--format', '{{.Id}}', BASE])).stdout.trim();
  assert.equal(id, (await kit.store.images.resolve(BASE)).id, 'both sides start from the same base image');
  return { docker, kit };
}
