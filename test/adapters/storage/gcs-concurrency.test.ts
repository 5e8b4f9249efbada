// Four real OS processes appending to, and merging into, one gs:// table in the emulator: the same
// workers and assertions as the local races (test/engine/delta/commit-conflicts, test/engine/ops/merge/concurrency),
// so commits by put-if-absent (ifGenerationMatch=0) must neither lose nor double a version or a row.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../../src/engine/table.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../../support/gcs-emulator.ts';
import { requirePeer } from '../../support/peers.ts';
import { runTsxOk } from '../../support/process.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fx = useEngine();

/** A worker process (the local races' own scripts) with the emulator in its environment; must exit 0. */
async function runChild(script: string, args: string[], env: Record<string, string | undefined>): Promise<string> {
  return (await runTsxOk(script, args, { env })).stdout;
}

describe.skipIf(gcsMode === 'skip')('concurrent writers on one gs:// table (fake-gcs-server)', () => {
  let gcs: FakeGcs;
  let env: NodeJS.ProcessEnv;
  const savedHost = process.env.STORAGE_EMULATOR_HOST;
  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('lake');
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
    env = { ...process.env, STORAGE_EMULATOR_HOST: gcs.endpoint };
  });
  afterAll(async () => {
    if (savedHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = savedHost;
    await gcs?.stop();
  });

  /** Commit versions in the bucket, from the emulator's own listing (not through our store). */
  async function logVersions(prefix: string): Promise<number[]> {
    const res = await fetch(`${gcs.endpoint}/storage/v1/b/lake/o?prefix=${encodeURIComponent(`${prefix}/_delta_log/`)}&maxResults=1000`);
    const items = ((await res.json()) as { items?: { name: string }[] }).items ?? [];
    return items
      .map((i) => i.name.slice(prefix.length + '/_delta_log/'.length))
      .filter((f) => /^\d{20}\.json$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
  }

  it('four processes appending at once: no version lost or doubled, every row exactly once', async () => {
    const prefix = `race/append-${randomUUID().slice(0, 8)}`;
    const location = `gs://lake/${prefix}`;
    const t = await DeltaTable.forPath(location, { compute: fx.compute });
    await t.write({ sql: 'SELECT NULL::INTEGER AS writer, NULL::INTEGER AS seq, 0::BIGINT AS n' }).execute();
    const writers = 4;
    const commits = 6;
    const rows = 50;
    await Promise.all(
      Array.from({ length: writers }, (_, w) => runChild('test/engine/delta/fixtures/concurrent-appender.ts', [location, String(w), String(commits), String(rows)], env)),
    );
    expect(await logVersions(prefix)).toEqual(Array.from({ length: 1 + writers * commits }, (_, i) => i));
    const counts = await fx.compute.query<{ writer: number; seq: number; c: string }>(
      `SELECT writer, seq, count(*) AS c FROM (${(await t.scan()).sql}) WHERE writer IS NOT NULL GROUP BY ALL ORDER BY ALL`,
    );
    expect(counts).toHaveLength(writers * commits);
    expect(counts.every((c) => Number(c.c) === rows)).toBe(true);
    const snap = await t.snapshot();
    expect(snap.version).toBe(writers * commits);
    for (let w = 0; w < writers; w++) expect(snap.txnVersion(`writer-${w}`)).toBe(commits - 1);
    t.close();
  });

  it('four processes merging into the same rows never lose an update', async () => {
    const prefix = `race/merge-${randomUUID().slice(0, 8)}`;
    const location = `gs://lake/${prefix}`;
    const t = await DeltaTable.forPath(location, { compute: fx.compute });
    await t.write({ sql: 'SELECT range AS id, 0 AS n FROM range(20)' }).execute();
    const results = (
      await Promise.all([0, 1, 2, 3].map((w) => runChild('test/engine/ops/merge/fixtures/concurrent-merger.ts', [location, 'increment', String(w), '3'], env)))
    ).map((out) => JSON.parse(out) as { committed: number; conflicts: number });
    const committed = results.reduce((a, r) => a + r.committed, 0);
    expect(committed).toBeGreaterThan(0);
    const rows = await t.read();
    expect(rows).toHaveLength(20);
    // Each committed merge added exactly 1 to every row; a lost update would leave less.
    expect(new Set(rows.map((r) => Number(r.n)))).toEqual(new Set([committed]));
    const merges = (await t.history()).filter((h) => h.operation === 'MERGE');
    expect(merges).toHaveLength(committed);
    expect(await logVersions(prefix)).toEqual(Array.from({ length: 1 + committed }, (_, i) => i));
    t.close();
  });
});
