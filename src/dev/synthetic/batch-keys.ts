import type { Compute } from '../../adapters/compute/compute.ts';
import { InputError } from '../../errors/lakelet-error.ts';
import { affinePermutation, exponentialSql, uniformSql } from './random.ts';

/**
 * Which keys one synthetic batch holds, and in which order. Keys are whole numbers (the row "id");
 * each dataset turns an id into its key column (customer_id, tracking_num, …).
 *
 * A batch of `rows` rows has exactly `updates` rows that re-send existing ids (1..existing),
 * `deletes` rows that delete existing ids, and the rest new ids from `firstNewId` upwards. Ids are
 * distinct within a batch (a MERGE source without duplicate keys). Existing ids are chosen:
 *
 * - from a "hot" part of the key space: it is cut into `hotBlocks` contiguous ranges and a
 *   `hotFraction` of them is eligible, so with a target sorted by key an incremental batch
 *   touches about that fraction of its files (1 = anywhere);
 * - with zipf-like skew `skew` (0 = uniform): weighted sampling without replacement
 *   (Efraimidis–Spirakis: smallest Exp(1)·(1+rank)^skew), where each id's rank is fixed by the
 *   seed, so the same "hot" ids come back batch after batch.
 *
 * Everything runs in DuckDB: the chosen existing ids go into a temp table (one row per update or
 * delete); new ids and the row order are computed per row, without sorting the batch.
 */
export type KeyOrder = 'sorted' | 'unsorted';
export type RowOp = 'I' | 'U' | 'D';

export interface BatchKeySpec {
  seed: number;
  /** 0 for an initial load, 1, 2, … for incremental batches (changes every random stream). */
  batch: number;
  rows: number;
  /** Ids 1..existing exist already. */
  existing: number;
  /** First id of the new rows; above `existing`. */
  firstNewId: number;
  updates: number;
  deletes: number;
  skew: number;
  hotFraction: number;
  hotBlocks: number;
  order: KeyOrder;
}

export function validateKeySpec(spec: BatchKeySpec): void {
  const whole = (name: string, v: number, min = 0) => {
    if (!Number.isSafeInteger(v) || v < min) throw new InputError(`synthetic batch: ${name} must be a whole number ≥ ${min}, got ${v}.`);
  };
  whole('rows', spec.rows);
  whole('existing', spec.existing);
  whole('updates', spec.updates);
  whole('deletes', spec.deletes);
  whole('batch', spec.batch);
  whole('hotBlocks', spec.hotBlocks, 1);
  whole('firstNewId', spec.firstNewId, 1);
  if (spec.firstNewId <= spec.existing) throw new InputError(`synthetic batch: new ids must start above the existing ones (firstNewId ${spec.firstNewId} ≤ existing ${spec.existing}).`);
  if (spec.updates + spec.deletes > spec.rows) {
    throw new InputError(`synthetic batch: ${spec.updates} updates + ${spec.deletes} deletes do not fit in ${spec.rows} rows; lower the fractions.`);
  }
  if (spec.updates + spec.deletes > spec.existing) {
    throw new InputError(
      `synthetic batch ${spec.batch}: ${spec.updates + spec.deletes} updates/deletes need as many distinct existing keys, but only ${spec.existing} exist. ` +
        'Lower --updates-fraction/--delete-fraction or --batch-rows, or raise --rows.',
    );
  }
  if (!(spec.hotFraction > 0 && spec.hotFraction <= 1)) throw new InputError(`synthetic batch: hotFraction must be in (0, 1], got ${spec.hotFraction}.`);
  if (!(spec.skew >= 0 && Number.isFinite(spec.skew))) throw new InputError(`synthetic batch: skew must be 0 or more, got ${spec.skew}.`);
}

/** Rows that update or delete existing ids. */
export function pickedCount(spec: BatchKeySpec): number {
  return spec.updates + spec.deletes;
}

let tempCounter = 0;

/**
 * A batch's keys, ready to be read in slices: `slice(a, b)` is SQL for `(pos, id, op)` of rows
 * a ≤ pos < b in output order. Call `release()` when done.
 */
export interface BatchKeys {
  spec: BatchKeySpec;
  slice(from: number, to: number): string;
  /** Whether `slice` output must be re-ordered by pos (a join is involved). */
  ordered: boolean;
  release(): Promise<void>;
}

export async function prepareBatchKeys(compute: Compute, spec: BatchKeySpec): Promise<BatchKeys> {
  validateKeySpec(spec);
  const picked = pickedCount(spec);
  const { seed, batch } = spec;
  const position = spec.order === 'sorted' || spec.rows <= 1 ? (pos: string) => pos : affinePermutation(spec.rows, seed + batch * 7919, 'row-order').sql;
  const newId = (q: string) => `(CAST(${spec.firstNewId} AS BIGINT) + ${q} - ${picked})`;

  if (picked === 0) {
    return {
      spec,
      ordered: false,
      slice: (from, to) => `SELECT pos, ${newId(position('pos'))} AS id, 'I' AS op FROM range(${from}, ${to}) r(pos)`,
      release: async () => {},
    };
  }

  const table = `__lakelet_synth_keys_${process.pid}_${++tempCounter}`;
  const b = String(batch);
  const hotFilter = hotBlockFilter(spec);
  // Efraimidis–Spirakis key; the rank that weights it depends on the seed only (stable hot set).
  const rank = `floor(${uniformSql(seed, 'hot-rank', 'id')} * ${spec.existing})`;
  const sampleKey = spec.skew === 0 ? exponentialSql(seed, 'pick', 'id', b) : `${exponentialSql(seed, 'pick', 'id', b)} * pow(1 + ${rank}, ${spec.skew})`;
  await compute.run(
    `CREATE TEMP TABLE ${table} AS ` +
      `WITH chosen AS (SELECT id FROM range(1, ${spec.existing + 1}) r(id)${hotFilter} ORDER BY ${sampleKey}, id LIMIT ${picked}), ` +
      `marked AS (SELECT id, row_number() OVER (ORDER BY ${uniformSql(seed, 'delete', 'id', b)}, id) <= ${spec.deletes} AS del FROM chosen) ` +
      `SELECT CAST(row_number() OVER (ORDER BY id) - 1 AS BIGINT) AS k, id, CASE WHEN del THEN 'D' ELSE 'U' END AS op FROM marked`,
  );
  const release = async () => {
    await compute.run(`DROP TABLE IF EXISTS ${table}`);
  };
  const got = Number((await compute.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
  if (got !== picked) {
    await release();
    throw new InputError(
      `synthetic batch ${batch}: needs ${picked} distinct existing keys for updates/deletes, but the hot part of the key space ` +
        `(${spec.hotFraction} of ${spec.existing} keys) holds only ${got}. Raise the hot fraction, or lower the update/delete fractions.`,
    );
  }
  return {
    spec,
    ordered: true,
    slice: (from, to) =>
      `SELECT s.pos, CASE WHEN s.q < ${picked} THEN p.id ELSE ${newId('s.q')} END AS id, coalesce(p.op, 'I') AS op ` +
      `FROM (SELECT pos, ${position('pos')} AS q FROM range(${from}, ${to}) r(pos)) s LEFT JOIN ${table} p ON p.k = s.q`,
    release,
  };
}

/** WHERE clause keeping ids of the eligible blocks (empty when every id is eligible). */
function hotBlockFilter(spec: BatchKeySpec): string {
  if (spec.hotFraction >= 1) return '';
  const blocks = Math.min(spec.hotBlocks, spec.existing);
  const eligible = Math.max(1, Math.ceil(blocks * spec.hotFraction));
  const blockOf = `((id - 1) * ${blocks}) // ${spec.existing}`;
  const chosen = `SELECT blk FROM range(${blocks}) r(blk) ORDER BY ${uniformSql(spec.seed, 'hot-block', 'blk', String(spec.batch))}, blk LIMIT ${eligible}`;
  return ` WHERE ${blockOf} IN (${chosen})`;
}
