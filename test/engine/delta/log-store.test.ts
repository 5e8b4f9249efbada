import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../../src/adapters/storage/local/local-object-store.ts';
import { ObjectNotFoundError } from '../../../src/adapters/storage/object-store.ts';
import {
  LAST_CHECKPOINT_KEY,
  LogStore,
  lastCheckpointChecksum,
  padVersion,
  parseLastCheckpoint,
  parseLogFileName,
} from '../../../src/engine/delta/log-store.ts';

const golden = resolve(process.cwd(), '../shared/conformance/golden');
const UUID = '6374b053-df23-479b-b2cf-c9c550132b49';
const p = padVersion;

let dir: string;
let store: LocalObjectStore;
let log: LogStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakelet-log-store-'));
  store = new LocalObjectStore(join(dir, 'table'));
  log = new LogStore(store);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('keys', () => {
  it('pads versions to 20 digits', () => {
    expect(log.commitKey(0)).toBe('_delta_log/00000000000000000000.json');
    expect(log.commitKey(3)).toBe('_delta_log/00000000000000000003.json');
    expect(log.commitKey(12345678901234)).toBe('_delta_log/00000012345678901234.json');
    expect(log.commitKey(Number.MAX_SAFE_INTEGER)).toBe('_delta_log/00009007199254740991.json');
    expect(() => log.commitKey(-1)).toThrow(RangeError);
    expect(() => log.commitKey(1.5)).toThrow(RangeError);
    expect(log.sidecarKey('abc.parquet')).toBe('_delta_log/_sidecars/abc.parquet');
  });
});

describe('commits', () => {
  it('writeCommit creates a version once; a taken version is false, not an error', async () => {
    expect(await log.writeCommit(0, '{"commitInfo":{}}\n')).toBe(true);
    expect(await log.writeCommit(0, '{"commitInfo":{"loser":true}}\n')).toBe(false);
    expect(await log.readCommit(0)).toBe('{"commitInfo":{}}\n');
    expect(await log.writeCommit(1, 'é\n')).toBe(true);
    expect(await log.readCommit(1)).toBe('é\n');
  });

  it('concurrent writers of one version: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.writeCommit(5, `writer ${i}\n`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await log.readCommit(5)).toBe(`writer ${results.indexOf(true)}\n`);
  });

  it('readCommit of a missing version rejects with ObjectNotFoundError', async () => {
    await expect(log.readCommit(7)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('latestVersion is the newest commit, undefined without commits', async () => {
    expect(await log.latestVersion()).toBeUndefined();
    await store.put(`_delta_log/${p(0)}.checkpoint.parquet`, 'cp');
    await store.put(LAST_CHECKPOINT_KEY, '{"version":0}');
    expect(await log.latestVersion()).toBeUndefined();
    for (const v of [0, 1, 2, 9, 10, 11]) await log.writeCommit(v, '{}');
    await store.put(`_delta_log/${p(12)}.crc`, '{}');
    await store.put(`_delta_log/${p(12)}.json.tmp`, '{}');
    expect(await log.latestVersion()).toBe(11);
  });
});

describe('file name classification', () => {
  it('recognises every log file pattern', () => {
    expect(parseLogFileName(`${p(3)}.json`)).toEqual({ version: 3, kind: 'commit' });
    expect(parseLogFileName(`${p(10)}.checkpoint.parquet`)).toEqual({ version: 10, kind: 'checkpoint' });
    expect(parseLogFileName(`${p(10)}.checkpoint.0000000002.0000000003.parquet`)).toEqual({
      version: 10,
      kind: 'checkpoint-part',
      part: 2,
      parts: 3,
    });
    expect(parseLogFileName(`${p(2)}.checkpoint.${UUID}.json`)).toEqual({ version: 2, kind: 'v2-checkpoint', uuid: UUID, format: 'json' });
    expect(parseLogFileName(`${p(2)}.checkpoint.${UUID.toUpperCase()}.parquet`)).toEqual({
      version: 2,
      kind: 'v2-checkpoint',
      uuid: UUID.toUpperCase(),
      format: 'parquet',
    });
    expect(parseLogFileName(`${p(4)}.crc`)).toEqual({ version: 4, kind: 'crc' });
    expect(parseLogFileName(`${p(1)}.${p(3)}.compacted.json`)).toEqual({ version: 1, kind: 'compacted', endVersion: 3 });
  });

  it('ignores everything else', () => {
    const ignored = [
      '_last_checkpoint',
      '_sidecars',
      `.${p(1)}.json.crc`, // Hadoop checksum sibling
      `.${p(1)}.json.${UUID}.tmp`, // Spark/Hadoop temp file
      `${p(1)}.json.tmp`,
      `${p(1)}.JSON`,
      `${p(1)}.json.crc`,
      `${p(1)}.checkpoint.parquet.crc`,
      `${'0'.repeat(19)}1.jsonx`,
      `${'0'.repeat(19)}.json`, // 19 digits
      `${'0'.repeat(21)}.json`, // 21 digits
      `${p(1)}.checkpoint.0000000003.0000000002.parquet`, // part > parts
      `${p(1)}.checkpoint.0000000000.0000000002.parquet`, // part 0
      `${p(1)}.checkpoint.001.002.parquet`, // wrong width
      `${p(1)}.checkpoint.not-a-uuid.json`,
      `${p(1)}.checkpoint.${UUID}.avro`,
      `${p(5)}.${p(3)}.compacted.json`, // end before start
      `${p(1)}.${p(3)}.compacted.parquet`,
      `${p(99999999)}`,
      'README',
      '',
      // Too big for a safe integer: never produced, never trusted.
      `${'9'.repeat(20)}.json`,
    ];
    for (const name of ignored) expect(parseLogFileName(name), name).toBeUndefined();
  });

  it('listLogFiles classifies a real directory, ignores non-log files, and sorts by version', async () => {
    const files: Record<string, string> = {
      [`${p(0)}.json`]: 'c0',
      [`${p(1)}.json`]: 'c1',
      [`${p(2)}.json`]: 'c2',
      [`${p(2)}.checkpoint.parquet`]: 'classic',
      [`${p(2)}.checkpoint.${UUID}.json`]: 'v2 json',
      [`${p(2)}.crc`]: 'crc',
      [`${p(3)}.json`]: 'c3',
      [`${p(3)}.checkpoint.0000000001.0000000002.parquet`]: 'part 1',
      [`${p(3)}.checkpoint.0000000002.0000000002.parquet`]: 'part 2',
      [`${p(1)}.${p(3)}.compacted.json`]: 'compacted',
      [`${p(10)}.json`]: 'c10',
      // not log files
      _last_checkpoint: '{"version":2}',
      [`_sidecars/${p(2)}.checkpoint.0000000001.0000000002.${UUID}.parquet`]: 'sidecar',
      [`_staged_commits/${p(11)}.${UUID}.json`]: 'staged',
      [`.${p(1)}.json.crc`]: 'hadoop crc',
      [`.${p(4)}.json.${UUID}.tmp`]: 'temp',
      [`${p(4)}.json.tmp`]: 'temp',
      [`${p(1)}.checkpoint.not-a-uuid.json`]: 'junk',
      'notes.txt': 'junk',
    };
    for (const [name, content] of Object.entries(files)) await store.put(`_delta_log/${name}`, content);
    // Files outside _delta_log never count.
    await store.put(`${p(0)}.json`, 'not in the log');
    await store.put(`part-00000.parquet`, 'data');

    const listed = await log.listLogFiles();
    expect(listed.map((f) => [f.version, f.kind, f.key.slice('_delta_log/'.length)])).toEqual([
      [0, 'commit', `${p(0)}.json`],
      [1, 'compacted', `${p(1)}.${p(3)}.compacted.json`],
      [1, 'commit', `${p(1)}.json`],
      [2, 'v2-checkpoint', `${p(2)}.checkpoint.${UUID}.json`],
      [2, 'checkpoint', `${p(2)}.checkpoint.parquet`],
      [2, 'crc', `${p(2)}.crc`],
      [2, 'commit', `${p(2)}.json`],
      [3, 'checkpoint-part', `${p(3)}.checkpoint.0000000001.0000000002.parquet`],
      [3, 'checkpoint-part', `${p(3)}.checkpoint.0000000002.0000000002.parquet`],
      [3, 'commit', `${p(3)}.json`],
      [10, 'commit', `${p(10)}.json`],
    ]);
    const part2 = listed.find((f) => f.kind === 'checkpoint-part' && f.part === 2)!;
    expect(part2).toMatchObject({ part: 2, parts: 2 });
    expect(listed.find((f) => f.kind === 'v2-checkpoint')).toMatchObject({ uuid: UUID, format: 'json' });
    expect(listed.find((f) => f.kind === 'compacted')).toMatchObject({ version: 1, endVersion: 3 });
    for (const f of listed) {
      const name = f.key.slice('_delta_log/'.length);
      expect(f.size, name).toBe(Buffer.byteLength(files[name]));
      expect(f.lastModified).toBeGreaterThan(Date.now() - 60_000);
    }

    const from3 = await log.listLogFiles(3);
    expect(from3.map((f) => f.version)).toEqual([3, 3, 3, 10]);
    expect(await log.listLogFiles(11)).toEqual([]);
    expect(await log.latestVersion()).toBe(10);
  });

  it('an empty or missing _delta_log lists as empty', async () => {
    expect(await log.listLogFiles()).toEqual([]);
    await store.put('part-0.parquet', 'x');
    expect(await log.listLogFiles()).toEqual([]);
  });

  it.skipIf(!existsSync(join(golden, 'v2-checkpoint-json')))('classifies a Spark-written V2 checkpoint table in place', async () => {
    const spark = new LogStore(new LocalObjectStore(join(golden, 'v2-checkpoint-json', 'delta')));
    const listed = await spark.listLogFiles();
    expect(listed.map((f) => `${f.version}:${f.kind}`)).toEqual(['0:commit', '1:commit', '2:v2-checkpoint', '2:commit']);
    // the sidecars under _delta_log/_sidecars are not log files
    expect(listed.some((f) => f.key.includes('_sidecars'))).toBe(false);
    expect(await spark.latestVersion()).toBe(2);
    const last = await spark.readLastCheckpoint();
    expect(last?.version).toBe(2);
    expect(last?.v2Checkpoint?.path).toBe('00000000000000000002.checkpoint.6374b053-df23-479b-b2cf-c9c550132b49.json');
  });
});

describe('_last_checkpoint', () => {
  it('is undefined when missing', async () => {
    expect(await log.readLastCheckpoint()).toBeUndefined();
  });

  it('is undefined when corrupt or unusable, never an error', async () => {
    const bad = [
      '',
      '{',
      '{{{ not json',
      'null',
      '[]',
      '"string"',
      '42',
      '{"size":3}',
      '{"version":-1}',
      '{"version":1.5}',
      '{"version":"3"}',
      '{"version":3,"size":-1}',
      '{"version":3,"parts":0}',
      '{"version":3,"v2Checkpoint":"x"}',
      '{"version":3,"checksum":"00000000000000000000000000000000"}',
      '\u0000\u0001binary',
    ];
    for (const text of bad) {
      await store.put(LAST_CHECKPOINT_KEY, text);
      expect(await log.readLastCheckpoint(), JSON.stringify(text)).toBeUndefined();
    }
    await store.put(LAST_CHECKPOINT_KEY, new Uint8Array([0xff, 0xfe, 0x00, 0x7b]));
    expect(await log.readLastCheckpoint()).toBeUndefined();
  });

  it('parses valid files, with or without a checksum', async () => {
    await store.put(LAST_CHECKPOINT_KEY, '{"version":10,"size":13}\n');
    expect(await log.readLastCheckpoint()).toEqual({ version: 10, size: 13 });
    await store.put(LAST_CHECKPOINT_KEY, '{"version":20,"size":5,"parts":3,"unknownField":{"x":1}}');
    expect(await log.readLastCheckpoint()).toEqual({ version: 20, size: 5, parts: 3, unknownField: { x: 1 } });
  });

  it('writeLastCheckpoint writes a checksum that readLastCheckpoint verifies', async () => {
    const info = { version: 30, size: 7, sizeInBytes: 1234, numOfAddFiles: 3, tags: { 'k ey': "v'al" } };
    await log.writeLastCheckpoint(info);
    const raw = JSON.parse(new TextDecoder().decode(await store.get(LAST_CHECKPOINT_KEY))) as Record<string, unknown>;
    expect(raw.checksum).toMatch(/^[0-9a-f]{32}$/);
    expect(await log.readLastCheckpoint()).toEqual({ ...info, checksum: raw.checksum });
    // overwrite (a plain put, not put-if-absent)
    await log.writeLastCheckpoint({ version: 40, size: 1, checksum: 'stale' });
    expect((await log.readLastCheckpoint())?.version).toBe(40);
    // tampering with a field invalidates it
    await store.put(LAST_CHECKPOINT_KEY, JSON.stringify({ ...raw, version: 31 }));
    expect(await log.readLastCheckpoint()).toBeUndefined();
  });

  it('computes the checksum of the PROTOCOL.md example', () => {
    const example = JSON.parse(
      '{"k0":"\'v 0\'", "checksum": "adsaskfljadfkjadfkj", "k1":{"k2": 2, "k3": ["v3", [1, 2], {"k4": "v4", "k5": ["v5", "v6", "v7"]}]}}',
    ) as Record<string, unknown>;
    expect(lastCheckpointChecksum(example)).toBe('6a92d155a59bf2eecbd4b4ec7fd1f875');
  });

  const sparkWritten = [
    'basic-with-inserts-deletes-checkpoint',
    'basic-with-inserts-overwrite-restore',
    'checkpoint',
    'dv-partitioned-with-checkpoint',
    'v2-checkpoint-json',
  ];
  it.skipIf(!existsSync(golden))('verifies the checksums Spark wrote in the golden tables', () => {
    for (const t of sparkWritten) {
      const text = readFileSync(join(golden, t, 'delta', '_delta_log', '_last_checkpoint'), 'utf8');
      const parsed = JSON.parse(text) as Record<string, unknown>;
      expect(typeof parsed.checksum, t).toBe('string');
      expect(lastCheckpointChecksum(parsed), t).toBe(parsed.checksum);
      expect(parseLastCheckpoint(text)?.version, t).toBe(parsed.version);
    }
  });
});
