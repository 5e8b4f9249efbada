import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs, venvPython } from '../support/peers.ts';
import { tempDir } from '../support/temp.ts';
import { how, runProcess } from '../support/process.ts';

/**
 * delta-rs (the Python `deltalake` package) reads what DELETE/UPDATE/OPTIMIZE/RESTORE/VACUUM leave
 * behind, and both sides agree on the change data feed, whoever wrote it.
 */
const mode = requirePeer('delta-rs', deltaRsAvailable);

const PY = `
import json, sys
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
cmd, path = sys.argv[1], sys.argv[2]
if cmd == "cdf":
    rows = pa.RecordBatchReader.from_stream(DeltaTable(path).load_cdf(starting_version=int(sys.argv[3]))).read_all().to_pylist()
    print(json.dumps([{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows]))
elif cmd == "make":
    data = pa.table({"id": pa.array(range(6), pa.int64()), "k": ["k0", "k1"] * 3, "v": [f"v{i}" for i in range(6)]})
    write_deltalake(path, data, partition_by=["k"], configuration={"delta.enableChangeDataFeed": "true"})
    t = DeltaTable(path)
    t.delete("id = 0")
    t.update(updates={"v": "'x'"}, predicate="id = 3")
    print(json.dumps({"version": DeltaTable(path).version()}))
`;

async function python(args: string[]): Promise<any> {
  const run = await runProcess(venvPython()!, ['-c', PY, ...args]);
  if (run.code !== 0) throw new Error(`python ${args.join(' ')} ${how(run)}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

type Row = Record<string, unknown>;
const key = (r: Row) => `${r._commit_version}:${r._change_type}:${r.id}:${r.k}:${r.v}`;
const plain = (rows: Row[]) => rows.map((r) => `${r.id}:${r.k}:${r.v}`).sort();

let compute: Compute;
let tmp: { dir: string; cleanup: () => void };
beforeAll(async () => {
  compute = await openCompute({ memoryLimit: '1GB' });
  tmp = tempDir('lakelet-ops-interop-');
});
afterAll(() => {
  compute?.close();
  tmp?.cleanup();
});

describe.skipIf(mode === 'skip')('delta-rs and lakelet on DELETE/UPDATE/OPTIMIZE/RESTORE/VACUUM and CDF', () => {
  it('delta-rs reads every version lakelet writes, and its change feed matches ours', async () => {
    const dir = join(tmp.dir, 'by-lakelet');
    const t = await DeltaTable.forPath(dir, { compute });
    await t
      .write({ sql: `SELECT range::BIGINT AS id, 'k' || (range % 2) AS k, 'v' || range AS v FROM range(8)` })
      .partitionBy('k')
      .properties({ 'delta.enableChangeDataFeed': 'true' })
      .execute(); // v0
    await t.write({ sql: `SELECT (range + 8)::BIGINT AS id, 'k' || (range % 2) AS k, 'w' || range AS v FROM range(4)` }).execute(); // v1
    await t.delete('id IN (0, 9)').execute(); // v2
    await t.update({ v: "upper(v)" }, 'id >= 6').execute(); // v3
    await t.optimize().zOrderBy('id').execute(); // v4
    await t.delete("k = 'k1'").execute(); // v5
    await t.restore().version(4).execute(); // v6
    await t.vacuum().retentionHours(0).force().execute(); // v7, v8

    // The latest version and versions 4 and 5, in one peer process (its start-up is most of a read).
    const [latest, ...older] = await runDeltaRs(['read', dir, '--versions', 'latest,4,5']);
    expect(latest.version).toBe(8);
    expect(plain(latest.rows)).toEqual(plain(await t.read()));
    // The vacuum (retention 0) kept only the restored files: versions 4 and 5 are still readable.
    for (const [i, version] of [4, 5].entries()) {
      const theirs = older[i];
      expect(theirs.version).toBe(version);
      expect(plain(theirs.rows), `version ${version}`).toEqual(plain(await t.read({ version })));
    }
    const history = await runDeltaRs(['history', dir]);
    expect(JSON.stringify(history)).toContain('RESTORE');

    // Change feed of versions 2..5 is gone with the vacuum; compare on a fresh table instead.
    const cdfDir = join(tmp.dir, 'cdf-by-lakelet');
    const c = await DeltaTable.forPath(cdfDir, { compute });
    await c.write({ sql: `SELECT range::BIGINT AS id, 'k' || (range % 2) AS k, 'v' || range AS v FROM range(6)` }).partitionBy('k').properties({ 'delta.enableChangeDataFeed': 'true' }).execute();
    await c.delete('id = 1').execute();
    await c.update({ v: "'x'" }, 'id IN (2, 5)').execute();
    await c.delete("k = 'k1'").execute();
    await c.write({ sql: `SELECT 100::BIGINT AS id, 'k0' AS k, 'n' AS v` }).execute();
    const ours = (await c.changes({ fromVersion: 0 }).read()).map(key).sort();
    const theirs = (await python(['cdf', cdfDir, '0'])).map(key).sort();
    expect(theirs).toEqual(ours);
    t.close();
    c.close();
  });

  it('lakelet reads the change feed delta-rs writes (its cdc files, partitions, update images)', async () => {
    const dir = join(tmp.dir, 'by-delta-rs');
    const made = await python(['make', dir]);
    expect(made.version).toBe(2);
    const t = await DeltaTable.forPath(dir, { compute });
    const ours = (await t.changes({ fromVersion: 0 }).read()).map(key).sort();
    const theirs = (await python(['cdf', dir, '0'])).map(key).sort();
    expect(ours).toEqual(theirs);
    expect(ours).toContain('1:delete:0:k0:v0');
    expect(ours).toContain('2:update_postimage:3:k1:x');
    t.close();
  });
});
