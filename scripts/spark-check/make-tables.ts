// Writes the lakelet tables Spark reads in the Spark check (scripts/spark-check.sh), and what
// lakelet itself reads from them: per version, the row count and the key sum; for the latest
// version, each column's non-NULL count too (a column Spark cannot map comes back NULL).
//
//   node --import tsx scripts/spark-check/make-tables.ts <dir>
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';

type Expected = { versions: { version: number; n: number; sum: number }[]; latest: Record<string, number>; nested: Record<string, number> };

/** Aggregates over nested fields, the same text in DuckDB's SQL and Spark's (a nested field Spark cannot map reads NULL). */
const NESTED: Record<string, string[]> = { mapped: ['sum(st.a)', "count(st.b)", "count(mp['k'])"] };

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: make-tables.ts <dir>\n');
  process.exit(2);
}
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const DV = { 'delta.enableDeletionVectors': 'true' };
const expected: Record<string, Expected> = {};

/** lakelet's own reading of every version of a table (`id` is each table's key). */
async function record(name: string, t: DeltaTable): Promise<void> {
  const latest = await t.snapshot();
  const versions = [];
  for (let v = 0; v <= latest.version; v++) {
    const scan = await t.scan({ version: v });
    try {
      const [r] = await t.ctx.compute.query<{ n: string; s: string | null }>(`SELECT count(*)::BIGINT AS n, sum(id)::BIGINT AS s FROM (${scan.sql})`);
      versions.push({ version: v, n: Number(r.n), sum: Number(r.s ?? 0) });
    } finally {
      await scan.release();
    }
  }
  const columns = latest.schema.fields.map((f) => f.name);
  const scan = await t.scan();
  try {
    const nested = NESTED[name] ?? [];
    const [r] = await t.ctx.compute.query<Record<string, string>>(
      `SELECT ${[...columns.map((c, i) => `count("${c.replaceAll('"', '""')}")::BIGINT AS c${i}`), ...nested.map((e, i) => `(${e})::BIGINT AS x${i}`)].join(', ')} FROM (${scan.sql})`,
    );
    expected[name] = {
      versions,
      latest: Object.fromEntries(columns.map((c, i) => [c, Number(r[`c${i}`])])),
      nested: Object.fromEntries(nested.map((e, i) => [e, Number(r[`x${i}`])])),
    };
  } finally {
    await scan.release();
  }
  t.close();
}

const open = (name: string) => DeltaTable.forPath(join(dir, name));

// DELETE (an inline DV, then a DV file), UPDATE and MERGE by DV, a MERGE that deletes.
{
  const t = await open('ops');
  await t.write({ sql: "SELECT range::BIGINT AS id, range % 10 AS g, 'v' || range AS s, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(range) AS ts, (range / 7)::DECIMAL(12,2) AS d FROM range(20000)" }).properties(DV).targetFileSize(200_000).execute();
  await t.delete('id = 17').execute();
  await t.delete('g = 3').execute();
  await t.update({ s: "'updated'" }, 'g = 5').execute();
  await t.merge({ sql: "SELECT range::BIGINT * 2 AS id, 9 AS g, 'merged' AS s, TIMESTAMPTZ '2025-01-01 00:00:00+00' AS ts, 1.5::DECIMAL(12,2) AS d FROM range(15000, 16000)" }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
  await t.merge({ sql: "SELECT range::BIGINT AS id, 'D' AS op FROM range(100, 5000, 3)" }, { on: ['id'] }).whenMatchedDelete("s.op = 'D'").execute();
  await record('ops', t);
}
// Partitioned by awkward values (a space, a slash, '=', '%', non-ASCII, an empty string, NULL) and a date.
{
  const t = await open('partitioned');
  await t.write({ sql: "SELECT range::BIGINT AS id, CASE range % 7 WHEN 0 THEN 'a b' WHEN 1 THEN 'x/y' WHEN 2 THEN 'k=v' WHEN 3 THEN '100%' WHEN 4 THEN 'üñí' WHEN 5 THEN '' ELSE NULL END AS p, DATE '2024-01-01' + (range % 3)::INTEGER AS day, range * 1.5 AS v FROM range(1200)" })
    .partitionBy('p', 'day').properties(DV).execute();
  await t.delete('id % 5 = 0').execute();
  await t.update({ v: '-1' }, "p = 'k=v'").execute();
  await record('partitioned', t);
}
// 23 DV commits: two checkpoints, each holding DV descriptors.
{
  const t = await open('checkpointed');
  await t.write({ sql: "SELECT range::BIGINT AS id, 'v' || range AS s FROM range(5000)" }).properties(DV).execute();
  for (let i = 0; i < 23; i++) await t.delete(`id % 23 = ${i} AND id < ${200 + i * 200}`).execute();
  await record('checkpointed', t);
}
// Column mapping (name) with nested columns and a change data feed, a DELETE and a MERGE by DV.
{
  const t = await open('mapped');
  await t.write({ sql: "SELECT range::BIGINT AS id, 'n' || range AS \"Name With Space\", {'a': range, 'b': 'x' || range} AS st, [range, range + 1] AS li, MAP {'k': range} AS mp FROM range(3000)" })
    .properties({ ...DV, 'delta.columnMapping.mode': 'name', 'delta.enableChangeDataFeed': 'true' }).execute();
  await t.delete('id % 4 = 1').execute();
  await t.merge({ sql: "SELECT range::BIGINT * 3 AS id, 'm' AS \"Name With Space\", {'a': 0, 'b': 'm'} AS st, [0] AS li, MAP {'k': 0} AS mp FROM range(900, 1100)" }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
  await record('mapped', t);
}
// Every primitive type; then OPTIMIZE purges the DV.
{
  const t = await open('types');
  await t.write({ sql: "SELECT range::BIGINT AS id, range::TINYINT AS i8, range::SMALLINT AS i16, range::INTEGER AS i32, (range / 3)::FLOAT AS f32, (range / 7)::DOUBLE AS f64, (range / 9)::DECIMAL(38,10) AS dec, (range % 2 = 0) AS b, ('\\x00' || range)::BLOB AS bin, DATE '1970-01-01' + range::INTEGER AS dt, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(range) AS ts, TIMESTAMP '2024-01-01 00:00:00' + to_seconds(range) AS tsntz, CASE WHEN range % 3 = 0 THEN NULL ELSE 's' || range END AS s FROM range(100)" })
    .properties(DV).execute();
  await t.delete('id % 10 = 3').execute();
  await t.optimize().maxDeletedRowsRatio(0).execute();
  await record('types', t);
}
writeFileSync(join(dir, 'expected.json'), JSON.stringify(expected, null, 1));
process.stdout.write(`wrote ${Object.keys(expected).length} tables in ${dir}\n`);
