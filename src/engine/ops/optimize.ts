import type { Action, AddFile } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableContext } from '../delta/table-context.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import { columnMappingMode, physicalName } from '../delta/column-mapping.ts';
import { DEFAULT_TARGET_FILE_SIZE, writeDataFiles } from '../delta/data-writer.ts';
import { scanSnapshot, withMissingFileCheck } from '../delta/scan.ts';
import { parseStats } from '../delta/stats.ts';
import { commit } from '../delta/transaction.ts';
import { matchByPartition, partitionValueOf, removeFor, totalBytes } from './file-selection.ts';
import { InputError, NotATableError } from '../errors.ts';

export interface FileSizeSummary {
  min: number;
  max: number;
  avg: number;
  totalFiles: number;
  totalSize: number;
}

export interface OptimizeMetrics {
  numFilesAdded: number;
  numFilesRemoved: number;
  filesAdded: FileSizeSummary;
  filesRemoved: FileSizeSummary;
  partitionsOptimized: number;
  numBatches: number;
  totalConsideredFiles: number;
  totalFilesSkipped: number;
  /** Deletion vectors purged: files with a DV that were rewritten without their deleted rows. */
  numDeletionVectorsRemoved: number;
  executionTimeMs: number;
}

/**
 * A file whose deletion vector deletes more than this share of its rows is rewritten whatever its
 * size (Delta's `optimize.maxDeletedRowsRatio` default): below it, the DV costs readers less than
 * the rewrite costs the writer.
 */
export const DEFAULT_MAX_DELETED_ROWS_RATIO = 0.05;

/** Bits per column of the z-order key: all columns' bits must fit in a signed 64-bit integer. */
const MAX_ZORDER_BITS = 62;

/**
 * OPTIMIZE: compacts small files per partition into files of about the target size, optionally
 * clustering rows with `zOrderBy(cols)` (Z-order curve) or `sortBy(cols)` (linear sort). The
 * rewrite changes no data: adds and removes carry `dataChange=false`, so streaming readers and the
 * change data feed ignore it, and concurrent appends do not conflict with it.
 *
 * Bin-packing: in each partition, files smaller than `minFileSize` (default: the target size) and
 * files whose deletion vector deletes more than `maxDeletedRowsRatio` of their rows are the
 * candidates; they are packed, smallest first, into bins of at most the target size, and each bin
 * with two or more files (or a deletion vector to purge) is rewritten. A rewritten file loses its
 * deleted rows, so its DV is purged. With zOrderBy/sortBy every file of a partition is a candidate and the partition is one
 * bin, rewritten in key order and split into files of about the target size.
 *
 * Z-order: each column is mapped to its percent rank within the partition (so any orderable type
 * works and skewed values spread evenly), scaled to an integer of `62 / #columns` bits, and the
 * bits of the columns are interleaved into one BIGINT key, all in DuckDB SQL. This is the classic
 * Morton order over exact ranks (Delta Spark uses range-partition ids from sampling instead; no
 * Hilbert curve).
 */
export class OptimizeBuilder {
  private _where: string | undefined;
  private _zOrder: string[] = [];
  private _sortBy: string[] = [];
  private _targetSize: number | undefined;
  private _minFileSize: number | undefined;
  private _maxDeletedRowsRatio = DEFAULT_MAX_DELETED_ROWS_RATIO;

  constructor(private readonly table: TableHandle) {}

  /** Only partitions matching this predicate over partition columns. */
  where(partitionPredicate: string): this {
    this._where = partitionPredicate;
    return this;
  }
  zOrderBy(...columns: (string | string[])[]): this {
    this._zOrder = columns.flat();
    return this;
  }
  sortBy(...columns: (string | string[])[]): this {
    this._sortBy = columns.flat();
    return this;
  }
  /** Target size of the written files in bytes (default `delta.targetFileSize`, else 128 MiB). */
  targetSize(bytes: number): this {
    this._targetSize = bytes;
    return this;
  }
  /** Files at least this large are left alone by bin-packing (default: the target size). */
  minFileSize(bytes: number): this {
    this._minFileSize = bytes;
    return this;
  }

  /** Rewrite files whose deletion vector deletes more than this share of their rows (default 0.05; 0 = any DV). */
  maxDeletedRowsRatio(ratio: number): this {
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new InputError(`${this.table.ctx.uri}: OPTIMIZE's maxDeletedRowsRatio must be between 0 and 1 (got ${ratio}).`);
    this._maxDeletedRowsRatio = ratio;
    return this;
  }

  async execute(): Promise<OperationResult<OptimizeMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    const snapshot = await this.table.tryLatest();
    if (!snapshot) throw new NotATableError(ctx.uri);
    if (this._zOrder.length > 0 && this._sortBy.length > 0) throw new InputError(`${ctx.uri}: OPTIMIZE takes zOrderBy or sortBy, not both.`);
    const target = positive(this._targetSize ?? Number(snapshot.configuration['delta.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE), 'target size', ctx.uri);
    const minFileSize = this._minFileSize === undefined ? target : positive(this._minFileSize, 'minimum file size', ctx.uri);
    const orderColumns = this.checkOrderColumns(snapshot);
    const clustering = orderColumns.length > 0;

    // Partitions in scope.
    let files = snapshot.files;
    const where = this._where?.trim();
    if (where) {
      const decided = await matchByPartition(snapshot, files, where);
      if (!decided) {
        throw new InputError(
          `${ctx.uri}: OPTIMIZE's where must use only partition columns (${snapshot.partitionColumns.join(', ') || 'the table has none'}), and be valid SQL: ${JSON.stringify(where)}.`,
        );
      }
      files = files.filter((_, i) => decided[i]);
    }
    const partitions = new Map<string, AddFile[]>();
    const mode = columnMappingMode(snapshot.metadata);
    const partFields = snapshot.partitionColumns.map((c) => snapshot.schema.fields.find((f) => f.name.toLowerCase() === c.toLowerCase())!);
    for (const f of files) {
      const key = JSON.stringify(partFields.map((pf) => partitionValueOf(f, physicalName(pf, mode), pf.name)));
      let list = partitions.get(key);
      if (!list) partitions.set(key, (list = []));
      list.push(f);
    }

    // Bins.
    const bins: AddFile[][] = [];
    const optimizedPartitions = new Set<string>();
    for (const [key, list] of partitions) {
      if (clustering) {
        bins.push(list);
        optimizedPartitions.add(key);
        continue;
      }
      const purge = (f: AddFile) => f.deletionVector != null && deletedShare(f) > this._maxDeletedRowsRatio;
      const small = list.filter((f) => f.size < minFileSize || purge(f)).sort((a, b) => a.size - b.size);
      let bin: AddFile[] = [];
      let binSize = 0;
      const close = () => {
        if (bin.length > 1 || bin.some(purge)) {
          bins.push(bin);
          optimizedPartitions.add(key);
        }
        bin = [];
        binSize = 0;
      };
      for (const f of small) {
        if (bin.length > 0 && binSize + f.size > target) close();
        bin.push(f);
        binSize += f.size;
      }
      close();
    }

    const removed = bins.flat();
    if (removed.length === 0) {
      const metrics = summarise([], [], 0, 0, files.length, started);
      return { version: snapshot.version, snapshot, metrics, skipped: 'nothing to optimize: no partition has files to compact' };
    }

    // Rewrite each bin.
    const adds: AddFile[] = [];
    for (const bin of bins) {
      adds.push(...(await rewriteBin(ctx, snapshot, bin, { target, orderColumns, zOrder: this._zOrder.length > 0 })));
    }

    const now = ctx.clock.now();
    const actions: Action[] = [...removed.map((f) => removeFor(f, now, false)), ...adds.map((add) => ({ add }))];
    const metrics = summarise(adds, removed, optimizedPartitions.size, bins.length, files.length, started);
    const result = await commit(ctx, {
      read: snapshot,
      actions,
      operation: 'OPTIMIZE',
      operationParameters: { predicate: where ? [where] : [], zOrderBy: this._zOrder.length > 0 ? orderColumns : [], auto: false },
      operationMetrics: { ...metrics, filesAdded: JSON.stringify(metrics.filesAdded), filesRemoved: JSON.stringify(metrics.filesRemoved) },
      readSet: { files: removed, scope: 'none' },
    });
    return { version: result.version, snapshot: result.snapshot, metrics };
  }

  private checkOrderColumns(snapshot: Snapshot): string[] {
    const requested = this._zOrder.length > 0 ? this._zOrder : this._sortBy;
    const partitionSet = new Set(snapshot.partitionColumns.map((c) => c.toLowerCase()));
    return requested.map((c) => {
      const field = snapshot.schema.fields.find((f) => f.name.toLowerCase() === c.trim().toLowerCase());
      if (!field) {
        throw new InputError(`${snapshot.table.uri}: cannot order by '${c}': no such column (columns: ${snapshot.schema.fields.map((f) => f.name).join(', ')}).`);
      }
      if (partitionSet.has(field.name.toLowerCase())) {
        throw new InputError(`${snapshot.table.uri}: '${field.name}' is a partition column; every file holds one value of it, so ordering by it does nothing.`);
      }
      if (typeof field.type !== 'string') throw new InputError(`${snapshot.table.uri}: cannot order by '${field.name}': only primitive columns can be ordered by.`);
      return field.name;
    });
  }
}

/** The share of a file's rows its deletion vector deletes (1 when the row count is unknown). */
function deletedShare(f: AddFile): number {
  const n = parseStats(f.stats)?.numRecords;
  if (typeof n !== 'number' || n <= 0) return 1;
  return (f.deletionVector?.cardinality ?? 0) / n;
}

function positive(n: number, what: string, uri: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new InputError(`${uri}: the ${what} must be a positive number of bytes (got ${n}).`);
  return Math.floor(n);
}

function summarise(adds: AddFile[], removed: AddFile[], partitionsOptimized: number, numBatches: number, considered: number, started: number): OptimizeMetrics {
  return {
    numFilesAdded: adds.length,
    numFilesRemoved: removed.length,
    filesAdded: sizeSummary(adds),
    filesRemoved: sizeSummary(removed),
    partitionsOptimized,
    numBatches,
    totalConsideredFiles: considered,
    totalFilesSkipped: considered - removed.length,
    numDeletionVectorsRemoved: removed.filter((f) => f.deletionVector).length,
    executionTimeMs: Date.now() - started,
  };
}

function sizeSummary(files: AddFile[]): FileSizeSummary {
  if (files.length === 0) return { min: 0, max: 0, avg: 0, totalFiles: 0, totalSize: 0 };
  const sizes = files.map((f) => f.size);
  const totalSize = totalBytes(files);
  return { min: Math.min(...sizes), max: Math.max(...sizes), avg: totalSize / files.length, totalFiles: files.length, totalSize };
}

/**
 * The ORDER BY key of a z-order: per column the percent rank scaled to `bits` bits, interleaved
 * (bit i of column j goes to bit i·k + j). Returns an expression over `ranks` (the scaled ranks).
 */
export function zOrderKeyExpr(ranks: string[], bits: number): string {
  const k = ranks.length;
  const terms: string[] = [];
  for (let i = 0; i < bits; i++) {
    for (let j = 0; j < k; j++) {
      const target = i * k + j;
      terms.push(`(((${ranks[j]} >> ${i}) & 1) << ${target})`);
    }
  }
  return terms.join(' | ');
}

/**
 * Writes the rows of one bin (all in one partition) as new data files in that partition's
 * directory, in key order, rolled over at about the target size (the writer writes one fixed
 * partition without PARTITION_BY, since DuckDB cannot roll files by size nor keep ORDER BY there).
 */
async function rewriteBin(
  ctx: TableContext,
  snapshot: Snapshot,
  bin: AddFile[],
  options: { target: number; orderColumns: string[]; zOrder: boolean },
): Promise<AddFile[]> {
  const mode = columnMappingMode(snapshot.metadata);
  const partitionValues: Record<string, string | null> = {};
  for (const column of snapshot.partitionColumns) {
    const pf = snapshot.schema.fields.find((f) => f.name.toLowerCase() === column.toLowerCase())!;
    partitionValues[physicalName(pf, mode)] = partitionValueOf(bin[0], physicalName(pf, mode), pf.name);
  }

  // DuckDB checks FILE_SIZE_BYTES only between row groups: for small targets, row groups of about
  // an eighth of a target file (estimated from the input's bytes per row) keep files near the target.
  const rowsIn = bin.reduce((s, f) => s + (parseStats(f.stats)?.numRecords ?? 0), 0);
  const bytesIn = totalBytes(bin);
  const rowsPerTarget = rowsIn > 0 ? Math.floor((options.target * rowsIn) / Math.max(1, bytesIn)) : Infinity;
  const rowGroupSize = Math.max(2048, Math.min(122_880, Math.floor(rowsPerTarget / 8)));

  const scan = await scanSnapshot(snapshot, { files: bin });
  try {
    let source = scan.sql;
    let orderBy: string | undefined;
    if (options.orderColumns.length > 0 && options.zOrder) {
      const bits = Math.max(1, Math.min(20, Math.floor(MAX_ZORDER_BITS / options.orderColumns.length)));
      const scale = 2 ** bits - 1;
      const ranks = options.orderColumns.map((c, j) => `CAST(floor(percent_rank() OVER (ORDER BY ${sqlIdent(c)} NULLS FIRST) * ${scale}) AS BIGINT) AS __lakelet_r${j}`);
      const key = zOrderKeyExpr(options.orderColumns.map((_, j) => `__lakelet_r${j}`), bits);
      source = `SELECT *, ${key} AS __lakelet_z FROM (SELECT *, ${ranks.join(', ')} FROM (${scan.sql}))`;
      orderBy = 's.__lakelet_z';
    } else if (options.orderColumns.length > 0) {
      orderBy = options.orderColumns.map((c) => `s.${sqlIdent(c)} NULLS FIRST`).join(', ');
    }
    const written = await withMissingFileCheck(snapshot, bin, () =>
      writeDataFiles(ctx, source, {
        schema: snapshot.schema,
        partitionColumns: snapshot.partitionColumns,
        mappingMode: mode,
        configuration: snapshot.configuration,
        targetFileSize: options.target,
        rowGroupSize,
        orderBy,
        partitionValues,
        dataChange: false,
        // Compacted files are meant to last: DuckDB's default zstd level (3), not the fast one.
        compressionLevel: 3,
      }),
    );
    return written.adds;
  } finally {
    await scan.release();
  }
}
