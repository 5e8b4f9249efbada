// The GCS emulator (fake-gcs-server, built by scripts/setup-peers.sh into .tools/bin) for tests:
// one server per test file on a free loopback port, in memory, stopped in afterAll.
//
//   const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
//   const fake = useFakeGcs('lake');   // one server per file, with its buckets
//   describe.skipIf(gcsMode === 'skip')('...', () => { … fake.gcs.endpoint … });
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { repoRoot } from './peers.ts';

/** The binary: $LAKELET_FAKE_GCS_SERVER or <repo>/.tools/bin/fake-gcs-server. */
export const fakeGcsBinary: string = process.env.LAKELET_FAKE_GCS_SERVER
  ? path.resolve(process.env.LAKELET_FAKE_GCS_SERVER)
  : path.join(repoRoot, '.tools', 'bin', 'fake-gcs-server');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const fakeGcsAvailable: boolean = executable(fakeGcsBinary);

export interface FakeGcs {
  /** `http://127.0.0.1:<port>`: what STORAGE_EMULATOR_HOST / apiEndpoint take. */
  endpoint: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the server binds it right after; a lost race is retried). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function ready(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`fake-gcs-server exited (${child.exitCode ?? child.signalCode}) before answering: ${output()}`);
    }
    try {
      const res = await fetch(`${endpoint}/storage/v1/b?project=test`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fake-gcs-server did not answer at ${endpoint} within 30 s: ${output()}`);
}

export async function startFakeGcs(): Promise<FakeGcs> {
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(
      fakeGcsBinary,
      ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-public-host', `127.0.0.1:${port}`, '-log-level', 'error'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-2000)));
    child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-2000)));
    try {
      await ready(endpoint, child, () => out);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      endpoint,
      async createBucket(name: string) {
        const res = await fetch(`${endpoint}/storage/v1/b?project=test`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
        if (!res.ok) throw new Error(`fake-gcs-server: creating bucket ${name} answered ${res.status}: ${await res.text()}`);
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
  }
  throw lastError;
}

/**
 * One emulator for a whole test file, with these buckets: started before its tests, stopped after
 * them (nothing is started when the binary is missing: the file's suites are skipped or fail by
 * requirePeer then).
 */
export function useFakeGcs(...buckets: string[]): { readonly gcs: FakeGcs } {
  let current: FakeGcs | undefined;
  beforeAll(async () => {
    if (!fakeGcsAvailable) return;
    current = await startFakeGcs();
    for (const b of buckets) await current.createBucket(b);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get gcs(): FakeGcs {
      if (!current) throw new Error('fake-gcs-server is not running (see test/support/gcs-emulator.ts)');
      return current;
    },
  };
}
