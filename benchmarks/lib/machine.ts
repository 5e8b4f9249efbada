import { cpus, freemem, platform, release, totalmem, arch, hostname, type as osType } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { deltaRsVersions, REPO_ROOT } from './engines.ts';
import { spawnSync } from 'node:child_process';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  freeMemoryBytes: number;
  os: string;
  osRelease: string;
  distro?: string;
  arch: string;
  hostname: string;
  node: string;
  duckdb: string;
  lakelet: string;
  lakeletCommit?: string;
  deltalake?: string;
  pyarrow?: string;
  python?: string;
}

function distro(): string | undefined {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return r.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '');
}

export async function machineInfo(compute: Compute): Promise<MachineInfo> {
  const duckdb = (await compute.query<{ v: string }>('SELECT version() AS v'))[0].v;
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
  const peer = deltaRsVersions();
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model?.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    os: `${osType()} (${platform()})`,
    osRelease: release(),
    distro: distro(),
    arch: arch(),
    hostname: hostname(),
    node: process.version,
    duckdb,
    lakelet: pkg.version,
    lakeletCommit: gitCommit(),
    ...(peer ? { deltalake: peer.deltalake, pyarrow: peer.pyarrow, python: peer.python } : {}),
  };
}
