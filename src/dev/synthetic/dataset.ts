/**
 * A synthetic dataset: how an id (and the batch it is sent in) becomes a row. Column expressions
 * are DuckDB SQL over a relation with columns `id` (BIGINT) and `op` ('I' new, 'U' update, 'D'
 * delete), pure functions of (seed, batch, id), so any slice of a batch can be generated alone.
 */
export interface RowContext {
  seed: number;
  /** 0 = initial load; 1, 2, … incremental batches. */
  batch: number;
  /** SQL expression for the row's id. */
  id: string;
  /** SQL expression for the row's op code. */
  op: string;
}

export interface SyntheticDataset {
  name: string;
  /** What the data stands for (help text). */
  description: string;
  /** The unique key column (the MERGE key). */
  key: string;
  /** The column that orders versions of a row (dedup / "newer wins"). */
  orderBy: string;
  /** Column names, in output order (without the optional op column). */
  columns: readonly string[];
  /** `expr AS name` items for every column in `columns`. */
  select(ctx: RowContext): string[];
}

/** Seconds since the epoch → TIMESTAMPTZ (UTC). `seconds` is an integer SQL expression. */
export function epochSql(seconds: string): string {
  return `to_timestamp(CAST(${seconds} AS BIGINT))`;
}

export const DAY = 86_400;
/** 2023-01-01T00:00:00Z */
export const EPOCH_2023 = 1_672_531_200;
/** 2024-01-01T00:00:00Z */
export const EPOCH_2024 = 1_704_067_200;
/** 2024-02-01T00:00:00Z */
export const EPOCH_2024_02 = 1_706_745_600;
