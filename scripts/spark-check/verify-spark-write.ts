// lakelet reads what Spark wrote on top of one of its tables (read_with_spark.py's DELETE) and
// compares with what Spark itself reads there (spark-after.json).
//
//   node --import tsx scripts/spark-check/verify-spark-write.ts <dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';

const dir = process.argv[2];
const spark = JSON.parse(readFileSync(join(dir, 'spark-after.json'), 'utf8')) as Record<string, { n: number; sum: number }>;
let bad = 0;
for (const [name, want] of Object.entries(spark)) {
  const t = await DeltaTable.forPath(join(dir, name));
  const scan = await t.scan();
  try {
    const [r] = await t.ctx.compute.query<{ n: string; s: string }>(`SELECT count(*)::BIGINT AS n, sum(id)::BIGINT AS s FROM (${scan.sql})`);
    const ok = Number(r.n) === want.n && Number(r.s) === want.sum;
    if (!ok) bad++;
    process.stdout.write(`${ok ? 'same' : 'MISMATCH'}: ${name} after Spark's DELETE: lakelet ${r.n} rows, key sum ${r.s}; Spark ${want.n}, ${want.sum}\n`);
  } finally {
    await scan.release();
    t.close();
  }
}
process.exit(bad > 0 ? 1 : 0);
