import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LocalObjectStore } from '../../../src/adapters/storage/local/local-object-store.ts';
import type { ListOptions, ObjectMeta } from '../../../src/adapters/storage/object-store.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';

/** Time travel on a table opened afresh lists the log around the version asked for, not from 0. */
const fx = useEngine();

/** A local store that records how the log is listed and how many log names each listing returned. */
class ListingStore extends LocalObjectStore {
  lists: { startAt?: string; endBefore?: string; returned: number }[] = [];
  override async list(prefix: string, options: ListOptions = {}): Promise<ObjectMeta[]> {
    const out = await super.list(prefix, options);
    this.lists.push({ ...(options.startAt ? { startAt: options.startAt } : {}), ...(options.endBefore ? { endBefore: options.endBefore } : {}), returned: out.length });
    return out;
  }
}

const pad = (v: number) => `_delta_log/${String(v).padStart(20, '0')}`;

async function tableOfCommits(name: string, commits: number, properties: Record<string, string> = {}): Promise<string> {
  const path = join(fx.dir, name);
  const t = await DeltaTable.forPath(path, { compute: fx.compute });
  let w = t.write({ sql: 'SELECT 0 AS k' });
  if (Object.keys(properties).length > 0) w = w.properties(properties);
  await w.execute();
  for (let i = 1; i < commits; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
  t.close();
  return path;
}

async function travel(path: string, version: number): Promise<{ rows: number[]; lists: ListingStore['lists'] }> {
  const store = new ListingStore(path);
  const t = await DeltaTable.forPath(path, { compute: fx.compute, store });
  const rows = (await t.read({ version, orderBy: 'k' })).map((r) => Number(r.k));
  t.close();
  return { rows, lists: store.lists };
}

describe('time travel listing', () => {
  it('before the last checkpoint: lists from the checkpoint at or below the version up to it, and reads the same rows', async () => {
    const path = await tableOfCommits('range', 35);
    const { rows, lists } = await travel(path, 13);
    expect(rows).toEqual([...Array(14).keys()]);
    // One listing: checkpoint 10 and commits 10..13.
    expect(lists).toEqual([{ startAt: pad(10), endBefore: pad(14), returned: 5 }]);
  });

  it('at or after the last checkpoint: lists from that checkpoint', async () => {
    const path = await tableOfCommits('after', 25);
    const { rows, lists } = await travel(path, 22);
    expect(rows).toEqual([...Array(23).keys()]);
    expect(lists).toHaveLength(1);
    expect(lists[0].startAt).toBe(pad(20));
  });

  it('another checkpoint interval: the guess finds no checkpoint and the whole log is listed, same rows', async () => {
    const path = await tableOfCommits('interval', 45, { 'delta.checkpointInterval': '20' });
    const { rows, lists } = await travel(path, 15);
    expect(rows).toEqual([...Array(16).keys()]);
    expect(lists.at(-1)).toEqual({ returned: expect.any(Number) });
    expect(lists.at(-1)!.returned).toBeGreaterThan(45);
  });

  it('a version that does not exist is still a VersionNotFoundError naming the latest', async () => {
    const path = await tableOfCommits('missing', 12);
    await expect(travel(path, 30)).rejects.toThrow(/version 30 does not exist; the latest version is 11/);
  });
});
