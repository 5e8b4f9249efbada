import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';

/**
 * A scan learns which columns its files hold (a DESCRIBE over their footers) once per list of
 * files: data files are never rewritten in place, so the same files scanned again (a MERGE scans
 * its target twice, a pipeline batch its stage file twice) need no second DESCRIBE (issue 13,
 * point 5). A new file, with a column the old ones lack, is a new list: described again.
 */
const fx = useEngine();

/** The fixture's DuckDB, with the DESCRIBEs of Parquet files it is given recorded. */
function describing(compute: Compute): { compute: Compute; described: string[] } {
  const described: string[] = [];
  const note = (sql: string) => {
    if (/^DESCRIBE SELECT \* FROM read_parquet\(/.test(sql)) described.push(sql);
  };
  return {
    described,
    compute: {
      query: (sql) => (note(sql), fx.compute.query(sql)),
      run: (sql) => (note(sql), fx.compute.run(sql)),
      stream: (sql) => fx.compute.stream(sql),
      describe: (sql) => fx.compute.describe(sql),
      appendIntegers: (table, columns) => fx.compute.appendIntegers(table, columns),
      integerColumns: (sql) => fx.compute.integerColumns(sql),
      close: () => {},
    },
  };
}

describe('scan columns', () => {
  it('are described once per list of files, and again for a new list', async () => {
    const { compute, described } = describing(fx.compute);
    const table = await DeltaTable.forPath(join(fx.dir, 'described'), { compute });
    await table.write({ sql: `SELECT 1 AS k, 'a' AS v` }).execute();
    expect(await table.read()).toEqual([{ k: 1, v: 'a' }]);
    expect(described).toHaveLength(1);
    expect(await table.read({ where: 'k = 1' })).toEqual([{ k: 1, v: 'a' }]);
    expect(described).toHaveLength(1);

    // A file with one more column: the table's schema grows, and the old file's rows read it as NULL.
    await table.write({ sql: `SELECT 2 AS k, 'b' AS v, 7 AS extra` }).mode('append').mergeSchema().execute();
    expect(await table.read({ orderBy: 'k' })).toEqual([
      { k: 1, v: 'a', extra: null },
      { k: 2, v: 'b', extra: 7 },
    ]);
    expect(described).toHaveLength(2);
    // The old file alone is the list described first.
    expect(await table.read({ where: 'k = 1' })).toEqual([{ k: 1, v: 'a', extra: null }]);
    expect(described).toHaveLength(2);
  });
});
