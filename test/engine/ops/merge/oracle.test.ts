import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { MergeDuplicateKeyError } from '../../../../src/engine/ops/merge.ts';
import type { MergeClause } from '../../../../src/engine/ops/merge/clauses.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../../../support/peers.ts';
import { canonicalRows } from '../../../support/golden.ts';
import { rng } from '../../../support/rng.ts';
import { dirOf } from '../../../support/temp.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

/**
 * Randomised differential test: lakelet's MERGE against DuckDB's own MERGE INTO on a native table
 * holding the same rows, over fixed seeds. Covers null keys, duplicate source keys (error vs
 * dedup), every clause kind with and without conditions, and partitioned targets. Runs twice: with
 * copy-on-write rewrites, and with deletion vectors (delta.enableDeletionVectors=true), where the
 * target's files keep their rows and matched rows are marked deleted instead.
 */
const CASES = Number(process.env.LAKELET_ORACLE_CASES ?? 240);
const PEER_EVERY = 12;
/** With DVs, target rows with id % 5 equal to this are deleted before the merge. */
const PRE_DELETED = 4;

interface Case {
  target: [number | null, string, number, number][];
  source: [number | null, string, number, number, string, number][];
  clauses: MergeClause[];
  partitioned: boolean;
  dedup: boolean;
  files: number;
}

const MATCHED_CONDS = [undefined, 's.n > t.n', "s.op = 'D'", 't.p = 1', 's.val <> t.val', 's.n IS NULL'];
const INSERT_CONDS = [undefined, "s.op <> 'D'", 's.n % 2 = 0', 's.p = 0'];
const BY_SOURCE_CONDS = [undefined, 't.n > 50', 't.p = 2', 't.val IS NULL'];

function makeCase(seed: number): Case {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const keyDomain = 5 + Math.floor(r() * 40);
  const key = () => (r() < 0.06 ? null : Math.floor(r() * keyDomain));
  const targetKeys = new Set<number>();
  const target: Case['target'] = [];
  const targetSize = Math.floor(r() * 50);
  for (let i = 0; i < targetSize; i++) {
    const k = key();
    if (k !== null && targetKeys.has(k)) continue; // targets hold one row per key
    if (k !== null) targetKeys.add(k);
    target.push([k, pick(['a', 'b', 'c', 'dd']), Math.floor(r() * 100), Math.floor(r() * 3)]);
  }
  const dedup = r() < 0.35;
  const dupRate = dedup ? 0.4 : r() < 0.3 ? 0.15 : 0;
  const source: Case['source'] = [];
  const sourceSize = Math.floor(r() * 25);
  for (let i = 0; i < sourceSize; i++) {
    const k = source.length > 0 && r() < dupRate ? source[Math.floor(r() * source.length)][0] : key();
    source.push([k, pick(['a', 'b', 'x', 'yy']), r() < 0.1 ? (null as unknown as number) : Math.floor(r() * 100), Math.floor(r() * 3), pick(['U', 'U', 'D', 'I']), i]);
  }
  const clauses: MergeClause[] = [];
  const nMatched = Math.floor(r() * 3);
  for (let i = 0; i < nMatched; i++) {
    const condition = pick(MATCHED_CONDS);
    if (r() < 0.35) clauses.push({ kind: 'matched-delete', condition });
    else clauses.push({ kind: 'matched-update', condition, set: r() < 0.5 ? undefined : { val: "s.val || '!'", n: 'coalesce(s.n, 0) + t.n' } });
  }
  if (r() < 0.75) clauses.push({ kind: 'not-matched-insert', condition: pick(INSERT_CONDS), set: r() < 0.7 ? undefined : { id: 's.id', val: "'ins'", n: 's.n', p: '0' } });
  if (r() < 0.35) {
    const condition = pick(BY_SOURCE_CONDS);
    clauses.push(r() < 0.5 ? { kind: 'by-source-delete', condition } : { kind: 'by-source-update', condition, set: { val: "'gone'" } });
  }
  if (clauses.length === 0) clauses.push({ kind: 'not-matched-insert' });
  return { target, source, clauses, partitioned: r() < 0.4, dedup, files: 1 + Math.floor(r() * 3) };
}

const lit = (v: unknown) => (v === null || v === undefined ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));
function valuesSql(rows: unknown[][], cols: string[], types: string[]): string {
  const typed = cols.map((c, i) => `CAST(${c} AS ${types[i]}) AS ${c}`).join(', ');
  if (rows.length === 0) return `SELECT ${cols.map((c, i) => `NULL::${types[i]} AS ${c}`).join(', ')} WHERE false`;
  return `SELECT ${typed} FROM (VALUES ${rows.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}) v(${cols.join(', ')})`;
}
const TARGET_COLS = ['id', 'val', 'n', 'p'];
const TARGET_TYPES = ['INTEGER', 'VARCHAR', 'INTEGER', 'INTEGER'];
const SOURCE_COLS = [...TARGET_COLS, 'op', 'seq'];
const SOURCE_TYPES = [...TARGET_TYPES, 'VARCHAR', 'INTEGER'];

function duckdbClause(c: MergeClause): string {
  const cond = c.condition ? ` AND ${c.condition}` : '';
  const setAll = TARGET_COLS.map((col) => `${col} = s.${col}`).join(', ');
  switch (c.kind) {
    case 'matched-update':
      return `WHEN MATCHED${cond} THEN UPDATE SET ${c.set ? Object.entries(c.set).map(([k, v]) => `${k} = ${v}`).join(', ') : setAll}`;
    case 'matched-delete':
      return `WHEN MATCHED${cond} THEN DELETE`;
    case 'not-matched-insert': {
      const cols = c.set ? Object.keys(c.set) : TARGET_COLS;
      const vals = c.set ? Object.values(c.set) : TARGET_COLS.map((x) => `s.${x}`);
      return `WHEN NOT MATCHED${cond} THEN INSERT (${cols.join(', ')}) VALUES (${vals.join(', ')})`;
    }
    case 'by-source-update':
      return `WHEN NOT MATCHED BY SOURCE${cond} THEN UPDATE SET ${Object.entries(c.set!).map(([k, v]) => `${k} = ${v}`).join(', ')}`;
    case 'by-source-delete':
      return `WHEN NOT MATCHED BY SOURCE${cond} THEN DELETE`;
  }
}

function applyClauses(builder: ReturnType<DeltaTable['merge']>, clauses: MergeClause[]) {
  for (const c of clauses) {
    if (c.kind === 'matched-update') c.set ? builder.whenMatchedUpdate(c.set, c.condition) : builder.whenMatchedUpdateAll(c.condition);
    else if (c.kind === 'matched-delete') builder.whenMatchedDelete(c.condition);
    else if (c.kind === 'not-matched-insert') c.set ? builder.whenNotMatchedInsert(c.set, c.condition) : builder.whenNotMatchedInsertAll(c.condition);
    else if (c.kind === 'by-source-update') builder.whenNotMatchedBySourceUpdate(c.set!, c.condition);
    else builder.whenNotMatchedBySourceDelete(c.condition);
  }
  return builder;
}

const fx = useEngine('lakelet-oracle-');

// The DV run takes every other seed: each of its cases is a DELETE and a MERGE (suite time budget).
describe.each([
  { mode: 'copy-on-write', dv: false, step: 1 },
  { mode: 'deletion vectors', dv: true, step: 2 },
])(`MERGE agrees with DuckDB MERGE INTO ($mode, ${CASES} seeds, every $step.)`, ({ dv, step }) => {
  it('every case gives the same rows, or the duplicate-key error Delta requires', async () => {
    const peer = requirePeer('delta-rs', deltaRsAvailable) === 'run';
    let errors = 0;
    let rejected = 0;
    let compared = 0;
    let dvCases = 0;
    let dvUnions = 0;
    // Tables delta-rs reads afterwards, all in one peer process (its start-up is most of a read).
    const peerChecks: { label: string; dir: string; version: number; rows: ReturnType<typeof canonicalRows> }[] = [];
    for (let seed = 1; seed <= CASES; seed += step) {
      const c = makeCase(seed);
      const label = `seed ${seed}: ${JSON.stringify(c.clauses)} partitioned=${c.partitioned} dedup=${c.dedup}`;
      const table = await DeltaTable.forPath(join(fx.dir, `${dv ? 'dv' : 'cow'}-case${seed}`), { compute: fx.compute });
      // Spread the target over several files (and commits) so pruning and partial rewrites happen.
      const chunk = Math.ceil(c.target.length / c.files) || 1;
      for (let f = 0; f < Math.max(1, c.files); f++) {
        const w = table.write({ sql: valuesSql(c.target.slice(f * chunk, (f + 1) * chunk), TARGET_COLS, TARGET_TYPES) });
        if (f === 0 && c.partitioned) w.partitionBy('p');
        if (f === 0 && dv) w.properties({ 'delta.enableDeletionVectors': 'true' });
        await w.execute();
      }
      // With DVs, a DELETE first, so the merge meets files that already carry a deletion vector and
      // must union its row positions with it.
      if (dv) await table.delete(`id % 5 = ${PRE_DELETED}`).execute();
      const target = dv ? c.target.filter((row) => row[0] === null || row[0] % 5 !== PRE_DELETED) : c.target;
      const sourceSql = valuesSql(c.source, SOURCE_COLS, SOURCE_TYPES);
      const builder = applyClauses(table.merge({ sql: sourceSql }, { on: ['id'] }), c.clauses);
      if (c.dedup) builder.dedupBy('seq');

      const families = [(k: string) => k.startsWith('matched'), (k: string) => k === 'not-matched-insert', (k: string) => k.startsWith('by-source')];
      const deadClause = families.some((inFamily) => {
        const family = c.clauses.filter((x) => inFamily(x.kind));
        return family.slice(0, -1).some((x) => !x.condition);
      });
      if (deadClause) {
        // Delta refuses an unconditional clause before another of its kind (DuckDB reorders them).
        await expect(builder.execute(), label).rejects.toThrow(/only the last/);
        rejected++;
        table.close();
        continue;
      }
      // Oracle: DuckDB MERGE INTO on a native table, source deduplicated the same way.
      await fx.compute.run(`CREATE OR REPLACE TEMP TABLE oracle AS ${valuesSql(target, TARGET_COLS, TARGET_TYPES)}`);
      const oracleSource = c.dedup ? `SELECT * FROM (${sourceSql}) QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq DESC) = 1` : sourceSql;
      await fx.compute.run(`MERGE INTO oracle t USING (${oracleSource}) s ON t.id = s.id ${c.clauses.map(duckdbClause).join(' ')}`);
      const expected = await fx.compute.query(`SELECT * FROM oracle`);

      // Delta semantics: without dedup, a target row matched by two source rows is an error when
      // any WHEN MATCHED clause exists (DuckDB silently lets the last one win).
      const counts = new Map<number, number>();
      for (const s of c.source) if (s[0] !== null) counts.set(s[0], (counts.get(s[0]) ?? 0) + 1);
      const ambiguous = !c.dedup && c.clauses.some((x) => x.kind.startsWith('matched')) && target.some((t) => t[0] !== null && (counts.get(t[0]) ?? 0) > 1);
      if (ambiguous) {
        const err = await builder.execute().catch((e) => e);
        expect(err, label).toBeInstanceOf(MergeDuplicateKeyError);
        errors++;
        table.close();
        continue;
      }
      const result = await builder.execute();
      if (dv) {
        // No file was rewritten: touched files only lost rows to a DV (or went whole).
        expect(result.metrics.numTargetRowsCopied, label).toBe(0);
        if (result.metrics.numTargetDeletionVectorsAdded + result.metrics.numTargetDeletionVectorsUpdated > 0) dvCases++;
        if (result.metrics.numTargetDeletionVectorsUpdated > 0) dvUnions++;
      }
      const actual = await table.read();
      expect(canonicalRows(actual), label).toEqual(canonicalRows(expected));
      compared++;
      // DV tables get the peer twice as often: delta-rs must apply lakelet's DVs as lakelet does.
      if (peer && (dv ? (seed - 1) % (PEER_EVERY / 2) === 0 : seed % PEER_EVERY === 0)) {
        peerChecks.push({ label, dir: dirOf(table), version: (await table.snapshot()).version, rows: canonicalRows(actual) });
      }
      table.close();
    }
    if (peer) {
      expect(peerChecks.length, 'cases checked by delta-rs').toBeGreaterThan(0);
      const read = await runDeltaRs(['read', ...peerChecks.map((p) => p.dir)]);
      // One table gives the object itself, several a list.
      const theirs = (peerChecks.length === 1 ? [read] : read) as { version: number; rows: Record<string, unknown>[] }[];
      expect(theirs).toHaveLength(peerChecks.length);
      peerChecks.forEach((p, i) => {
        expect(theirs[i].version, p.label).toBe(p.version);
        expect(canonicalRows(theirs[i].rows), `${p.label} (delta-rs)`).toEqual(p.rows);
      });
    }
    // The generator must exercise both outcomes, or the test proves little.
    expect(errors).toBeGreaterThan(5 / step);
    expect(rejected).toBeGreaterThan(0);
    expect(compared).toBeGreaterThan(CASES / step / 2);
    if (dv) expect(dvCases).toBeGreaterThan(CASES / step / 10);
    if (dv) expect(dvUnions).toBeGreaterThan(CASES / step / 20);
  }, 600_000);
});
