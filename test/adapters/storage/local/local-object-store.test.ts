import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../../../src/adapters/storage/local/local-object-store.ts';
import { InvalidObjectKeyError } from '../../../../src/adapters/storage/object-store.ts';
import { StorageIoError } from '../../../../src/adapters/io-error.ts';
import { objectStoreContract } from '../../../contract/object-store-contract.ts';
import { canMountTmpfs, mountTmpfs, unmount } from '../../../support/tmpfs.ts';
import { startProcess, tsxArgs } from '../../../support/process.ts';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lakelet-local-store-'));
}

objectStoreContract('LocalObjectStore', async () => {
  const dir = await tempRoot();
  // A root that does not exist yet: the store must create it on first write.
  const store = new LocalObjectStore(join(dir, 'not', 'yet', 'there'));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('LocalObjectStore specifics', () => {
  it('bounds a listing in UTF-8 byte order with ASCII and non-ASCII bounds alike', async () => {
    const dir = await tempRoot();
    try {
      const store = new LocalObjectStore(dir);
      // Byte order: a < b < é (C3) < U+E000 (EE) < 😀 (F0); JavaScript's own order puts 😀 (a surrogate) before U+E000.
      for (const name of ['a', 'b', 'é', '\uE000', '😀']) await store.put(`k/${name}`, name);
      const keysOf = async (startAt?: string, endBefore?: string) =>
        (await store.list('k/', { ...(startAt ? { startAt } : {}), ...(endBefore ? { endBefore } : {}) })).map((m) => m.key.slice(2));
      expect(await keysOf('k/b')).toEqual(['b', 'é', '\uE000', '😀']);
      expect(await keysOf('k/\uE000')).toEqual(['\uE000', '😀']);
      expect(await keysOf(undefined, 'k/\uE000')).toEqual(['a', 'b', 'é']);
      expect(await keysOf('k/é', 'k/😀')).toEqual(['é', '\uE000']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a bounded listing (names read without their types) still enters exactly the folders that can hold keys in range', async () => {
    const dir = await tempRoot();
    try {
      const store = new LocalObjectStore(dir);
      for (const key of ['a/x', 'b/1', 'b/2', 'b/3', 'b-c', 'b0', 'e/d/f', 'g']) await store.put(key, key);
      const keysOf = async (startAt?: string, endBefore?: string) =>
        (await store.list('', { ...(startAt ? { startAt } : {}), ...(endBefore ? { endBefore } : {}) })).map((m) => m.key);
      // `b` sorts before `b/2` as a name, yet its keys from b/2 on are in range; `a/` is wholly
      // below, `b-c` too ('-' < '/'); `e` sorts after `b/3` as a name, yet `e/d/f` is below `g`.
      expect(await keysOf('b/2')).toEqual(['b/2', 'b/3', 'b0', 'e/d/f', 'g']);
      expect(await keysOf('b/2', 'b/3')).toEqual(['b/2']);
      expect(await keysOf(undefined, 'b/2')).toEqual(['a/x', 'b-c', 'b/1']);
      expect(await keysOf('e/d/f', 'g')).toEqual(['e/d/f']);
      expect(await keysOf('b0', 'e/d/g')).toEqual(['b0', 'e/d/f']);
      expect(await keysOf('b0', 'e/d')).toEqual(['b0']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('maps keys to files byte for byte under the root', async () => {
    const dir = await tempRoot();
    try {
      const store = new LocalObjectStore(dir);
      expect(store.uri).toBe(`file://${dir}`);
      const key = 'part=a b%20c/é=ü/file 1.parquet';
      expect(store.localPath(key)).toBe(join(dir, 'part=a b%20c', 'é=ü', 'file 1.parquet'));
      await store.put(key, 'x');
      expect(await readdir(dir)).toEqual(['part=a b%20c']);
      expect(await readdir(join(dir, 'part=a b%20c'))).toEqual(['é=ü']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects keys that would escape the root or alias another key', async () => {
    const store = new LocalObjectStore('/tmp/lakelet-never-created');
    const bad = ['', '/abs', 'a//b', 'a/', 'a/../b', '..', 'a/./b', '.', 'nul\u0000byte', 'x/.lakelet-tmp-123'];
    for (const key of bad) {
      expect(() => store.localPath(key), JSON.stringify(key)).toThrow(InvalidObjectKeyError);
      await expect(store.put(key, 'x')).rejects.toThrow(InvalidObjectKeyError);
      await expect(store.get(key)).rejects.toThrow(InvalidObjectKeyError);
    }
    // dots inside a name are fine
    expect(store.localPath('a/..b/c..')).toBe('/tmp/lakelet-never-created/a/..b/c..');
  });

  it('requires an absolute root', () => {
    expect(() => new LocalObjectStore('relative/dir')).toThrow(/absolute/);
  });

  it('hides and cleans up temp files', async () => {
    const dir = await tempRoot();
    try {
      const store = new LocalObjectStore(dir);
      await store.put('d/a', '1');
      expect(await store.putIfAbsent('d/b', '2')).toBe(true);
      expect(await store.putIfAbsent('d/b', '3')).toBe(false);
      await store.copy('d/a', 'd/c');
      expect((await readdir(join(dir, 'd'))).sort()).toEqual(['a', 'b', 'c']);
      // a stray temp file (e.g. left by a crash) never shows up in listings
      await writeFile(join(dir, 'd', '.lakelet-tmp-crashed'), 'partial');
      expect((await store.list('d/')).map((m) => m.key)).toEqual(['d/a', 'd/b', 'd/c']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LocalObjectStore across processes', () => {
  it('putIfAbsent lets exactly one of 4 OS processes win each of 30 keys', async () => {
    const dir = await tempRoot();
    try {
      const root = join(dir, 'table');
      const moduleUrl = pathToFileURL(resolve(process.cwd(), 'src/adapters/storage/local/local-object-store.ts')).href;
      const worker = join(dir, 'worker.mjs');
      // The worker waits for "go" on stdin so all processes race at the same moment.
      await writeFile(
        worker,
        `
const { LocalObjectStore } = await import(${JSON.stringify(moduleUrl)});
const [root, id, count] = process.argv.slice(2);
const store = new LocalObjectStore(root);
process.stdout.write('ready\\n');
await new Promise((res) => process.stdin.once('data', res));
const keys = Array.from({ length: Number(count) }, (_, i) => '_delta_log/' + String(i).padStart(20, '0') + '.json');
const won = await Promise.all(keys.map((k) => store.putIfAbsent(k, 'writer ' + id + ' key ' + k + '\\n')));
process.stdout.write('result ' + JSON.stringify(keys.filter((_, i) => won[i])) + '\\n');
process.exit(0);
`,
      );

      const KEYS = 30;
      const procs = Array.from({ length: 4 }, (_, id) => {
        const worker_ = startProcess(process.execPath, tsxArgs(worker, [root, String(id), String(KEYS)]), { stdin: 'pipe' });
        const child = worker_.child;
        const ready = new Promise<void>((res, rej) => {
          child.stdout!.on('data', () => {
            if (worker_.stdout().includes('ready\n')) res();
          });
          void worker_.exited.then((r) => rej(new Error(`worker ${id} exited (${r.code}) before ready: ${r.stderr}`)));
        });
        const done = worker_.exited.then((r) => {
          const line = r.stdout.split('\n').find((l) => l.startsWith('result '));
          if (r.code !== 0 || !line) throw new Error(`worker ${id} failed (exit ${r.code}): ${r.stderr}\n${r.stdout}`);
          return JSON.parse(line.slice('result '.length)) as string[];
        });
        return { id, child, ready, done };
      });

      await Promise.all(procs.map((p) => p.ready));
      for (const p of procs) p.child.stdin!.end('go\n');
      const results = await Promise.all(procs.map((p) => p.done));

      const store = new LocalObjectStore(root);
      const winnerOf = new Map<string, number>();
      results.forEach((keys, id) => {
        for (const k of keys) {
          expect(winnerOf.has(k), `${k} won twice`).toBe(false);
          winnerOf.set(k, id);
        }
      });
      expect(winnerOf.size).toBe(KEYS);
      for (const [k, id] of winnerOf) {
        expect(new TextDecoder().decode(await store.get(k))).toBe(`writer ${id} key ${k}\n`);
      }
      // Exactly the 30 commits exist; every temp file was removed.
      expect((await store.list('')).map((m) => m.key)).toEqual([...winnerOf.keys()].sort());
      expect(await readdir(join(root, '_delta_log'))).toHaveLength(KEYS);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LocalObjectStore putWritten', () => {
  it('the object appears whole under its name only once the writer is done; until then its temp file is not listed', async () => {
    const dir = await tempRoot();
    try {
      const store = new LocalObjectStore(dir);
      await store.put('_delta_log/x.parquet', 'old');
      let seenDuring: { listed: string[]; content: string; tempDir: string } | undefined;
      const meta = await store.putWritten('_delta_log/x.parquet', async (local) => {
        await writeFile(local, 'new bytes');
        seenDuring = {
          listed: (await store.list('_delta_log/')).map((m) => m.key),
          content: new TextDecoder().decode(await store.get('_delta_log/x.parquet')),
          tempDir: local.slice(0, local.lastIndexOf('/')),
        };
      });
      // Written beside its final name (one rename, no copy), shown by no listing, the old object readable meanwhile.
      expect(seenDuring).toEqual({ listed: ['_delta_log/x.parquet'], content: 'old', tempDir: join(dir, '_delta_log') });
      expect(meta).toMatchObject({ key: '_delta_log/x.parquet', size: 'new bytes'.length });
      expect(new TextDecoder().decode(await store.get('_delta_log/x.parquet'))).toBe('new bytes');
      expect(await readdir(join(dir, '_delta_log'))).toEqual(['x.parquet']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a writer that fails leaves the old object and no temp file, and its error goes to the caller', async () => {
    const dir = await tempRoot();
    try {
      const store = new LocalObjectStore(dir);
      await store.put('_delta_log/x.parquet', 'old');
      const failing = store.putWritten('_delta_log/x.parquet', async (local) => {
        await writeFile(local, 'half a fi');
        throw new Error('disk full halfway');
      });
      await expect(failing).rejects.toThrow('disk full halfway');
      expect(new TextDecoder().decode(await store.get('_delta_log/x.parquet'))).toBe('old');
      expect(await readdir(join(dir, '_delta_log'))).toEqual(['x.parquet']);
      // Nothing there before: nothing there after.
      await expect(store.putWritten('_delta_log/y.parquet', async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
      expect(await store.head('_delta_log/y.parquet')).toBeUndefined();
      expect(await readdir(join(dir, '_delta_log'))).toEqual(['x.parquet']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LocalObjectStore leftovers and I/O errors', () => {
  it('a writer SIGKILLed between its temp file and the link leaves a .lakelet-tmp file; removeStaleTemp removes it, never a live writer\'s', async () => {
    const dir = await tempRoot();
    try {
      const root = join(dir, 'archive');
      const moduleUrl = pathToFileURL(resolve(process.cwd(), 'src/adapters/storage/local/local-object-store.ts')).href;
      const worker = join(dir, 'writer.mjs');
      // Writes big objects one after another: most of the time a temp file is being written and synced.
      await writeFile(
        worker,
        `
const { LocalObjectStore } = await import(${JSON.stringify(moduleUrl)});
const store = new LocalObjectStore(process.argv[2]);
const data = new Uint8Array(64 * 1024 * 1024).fill(7);
for (let i = 0; ; i++) await store.putIfAbsent('2024/05/17/batch/f' + i + '.csv', data);
`,
      );
      const batchDir = join(root, '2024/05/17/batch');
      const temps = async () => (await readdir(batchDir).catch(() => [] as string[])).filter((n) => n.startsWith('.lakelet-tmp-'));
      let left: string[] = [];
      for (let attempt = 0; attempt < 5 && left.length === 0; attempt++) {
        const { child, exited } = startProcess(process.execPath, tsxArgs(worker, [root]));
        while ((await temps()).length === 0) await new Promise((r) => setTimeout(r, 2));
        child.kill('SIGKILL');
        await exited;
        left = await temps();
      }
      expect(left).toHaveLength(1);
      expect(left[0]).toMatch(/^\.lakelet-tmp-\d+-/);
      // A live writer's temp file (this process; the parent process) stays, even next to a dead one's.
      await writeFile(join(batchDir, `.lakelet-tmp-${process.pid}-live`), 'x');
      await writeFile(join(batchDir, `.lakelet-tmp-${process.ppid}-live`), 'x');
      const store = new LocalObjectStore(root);
      expect((await store.list('')).every((m) => !m.key.includes('.lakelet-tmp-'))).toBe(true);
      const removed = await store.removeStaleTemp();
      expect(removed).toEqual([join(batchDir, left[0])]);
      expect((await temps()).sort()).toEqual([`.lakelet-tmp-${process.pid}-live`, `.lakelet-tmp-${process.ppid}-live`].sort());
      // Old enough, a temp file goes whatever its pid says (pids are reused).
      expect((await store.removeStaleTemp({ now: Date.now() + 2 * 3600_000 })).length).toBe(2);
      expect(await temps()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a write under a path that is a file names the path and says what to do', async () => {
    const dir = await tempRoot();
    try {
      await writeFile(join(dir, 'quarantine'), 'a file where a folder should be');
      const store = new LocalObjectStore(join(dir, 'quarantine'));
      const err = await store.put('2024/x.csv', 'x').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(StorageIoError);
      expect(err).toMatchObject({ errno: 'ENOTDIR', operation: 'write' });
      expect((err as Error).message).toContain(join(dir, 'quarantine'));
      expect((err as Error).message).toMatch(/a part of the path is a file, not a folder \(ENOTDIR\) on write of .*: remove or rename that file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!canMountTmpfs())('a full disk (a 64 KiB tmpfs) is a StorageIoError naming the file: free space, then run again', async () => {
    const dir = await tempRoot();
    const mnt = join(dir, 'full');
    try {
      mountTmpfs(mnt, '64k');
      const store = new LocalObjectStore(mnt);
      const err = await store.putIfAbsent('a/big.bin', new Uint8Array(256 * 1024)).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(StorageIoError);
      expect(err).toMatchObject({ errno: 'ENOSPC', operation: 'write' });
      expect((err as Error).message).toMatch(new RegExp(`^no space left on device \\(ENOSPC\\) on write of ${join(mnt, 'a')}/\\S+: free space on that disk`));
      // Nothing half-written is left behind.
      expect(await readdir(join(mnt, 'a'))).toEqual([]);
    } finally {
      unmount(mnt);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
