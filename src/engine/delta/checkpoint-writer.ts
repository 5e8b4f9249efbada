import { randomUUID } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action, RemoveFile } from './actions.ts';
import type { Snapshot } from './snapshot.ts';
import type { TableContext } from './table-context.ts';
import { checkpointTombstones } from './checkpoint-tombstones.ts';
import { sqlString } from '../../adapters/compute/sql.ts';

const MAP = 'MAP(VARCHAR, VARCHAR)';
const DV = 'STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT)';

/** The classic checkpoint schema (PROTOCOL.md "Checkpoint Schema"), one struct column per action. */
const CHECKPOINT_COLUMNS: Record<string, string> = {
  txn: 'STRUCT(appId VARCHAR, "version" BIGINT, lastUpdated BIGINT)',
  add: `STRUCT(path VARCHAR, partitionValues ${MAP}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags ${MAP}, deletionVector ${DV}, baseRowId BIGINT, defaultRowCommitVersion BIGINT, clusteringProvider VARCHAR)`,
  remove: `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues ${MAP}, size BIGINT, deletionVector ${DV}, baseRowId BIGINT, defaultRowCommitVersion BIGINT)`,
  metaData: `STRUCT(id VARCHAR, "name" VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "options" ${MAP}), schemaString VARCHAR, partitionColumns VARCHAR[], "configuration" ${MAP}, createdTime BIGINT)`,
  protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])',
  domainMetadata: 'STRUCT("domain" VARCHAR, "configuration" VARCHAR, removed BOOLEAN)',
};

const COLUMNS_SQL = Object.entries(CHECKPOINT_COLUMNS)
  .map(([k, t]) => `${sqlString(k)}: ${sqlString(t)}`)
  .join(', ');

export function checkpointKey(version: number): string {
  return `_delta_log/${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

/**
 * Writes a classic single-file Parquet checkpoint of `snapshot`, then `_last_checkpoint`.
 * The actions go through a temporary NDJSON file that DuckDB reads with the exact checkpoint
 * schema, so every engine (Spark, delta-rs, DuckDB's delta reader) finds the columns it expects.
 * On a local disk DuckDB writes the Parquet file straight beside its final name, which it takes by
 * a rename once whole (ObjectStore.putWritten): never half a checkpoint under a checkpoint's name,
 * and no copy out of a temp folder. Elsewhere the file is written locally and uploaded.
 * Besides the live state, it keeps the removes still within the retention (checkpoint-tombstones.ts),
 * as the protocol asks; they are returned too (the same handle's next checkpoint starts from them,
 * Snapshot.withCheckpoint). A checkpoint is a function of the snapshot and the time, so a racing writer
 * producing the same file is harmless.
 *
 * Compression is what lakelet's direct reader (parquet-lite) decodes, which Spark and delta-rs read
 * too: none on a local disk, where reading a few more MB costs less than inflating them in
 * JavaScript (a 10,000-file checkpoint: 5 MB plain, opened ~50 ms sooner than as 1.3 MB of
 * snappy); snappy on an object store, where every byte is a download.
 */
export async function writeCheckpoint(
  table: TableContext,
  snapshot: Snapshot,
  now = table.clock.now(),
): Promise<{ key: string; actions: number; size: number; tombstones: RemoveFile[] }> {
  const actions: Action[] = [{ protocol: snapshot.protocol }, { metaData: snapshot.metadata }];
  for (const txn of snapshot.txns.values()) actions.push({ txn });
  for (const d of snapshot.domains.values()) actions.push({ domainMetadata: d });
  for (const add of snapshot.files) actions.push({ add: { ...add, dataChange: false } });
  // Tombstones that cannot be collected (a damaged previous checkpoint whose commits were cleaned
  // up) fail the checkpoint: one written without them would tell VACUUMs and readers of the
  // checkpoint that recently removed files are unknown. The commit it follows is durable either
  // way (transaction.ts turns this failure into the "checkpoint not written" warning).
  const tombstones = await checkpointTombstones(table, snapshot, now);
  for (const remove of tombstones) actions.push({ remove });

  // Temp files by a unique name (no folder to make and remove).
  const temp = join(tmpdir(), `lakelet-ckpt-${process.pid}-${randomUUID()}`);
  const ndjson = `${temp}.ndjson`;
  const out = `${temp}.parquet`;
  try {
    await writeFile(ndjson, actions.map((a) => JSON.stringify(a)).join('\n') + '\n', { flag: 'wx' });
    const codec = table.store.uri.startsWith('file:') ? 'uncompressed' : 'snappy';
    const copyTo = (out: string) =>
      table.compute.run(
        `COPY (SELECT * FROM read_json(${sqlString(ndjson)}, format = 'newline_delimited', columns = {${COLUMNS_SQL}})) ` +
          `TO ${sqlString(out)} (FORMAT parquet, COMPRESSION ${codec})`,
      );
    const key = checkpointKey(snapshot.version);
    let size: number;
    if (table.store.putWritten) {
      // A local store: DuckDB writes the file beside its final name, renamed into place when whole.
      size = (await table.store.putWritten(key, copyTo)).size;
    } else {
      await copyTo(out);
      size = (await stat(out)).size;
      await table.store.putFile(key, out);
    }
    await table.log.writeLastCheckpoint({ version: snapshot.version, size: actions.length, sizeInBytes: size, numOfAddFiles: snapshot.fileCount });
    return { key, actions: actions.length, size, tombstones };
  } finally {
    await Promise.all([rm(ndjson, { force: true }), table.store.putWritten ? undefined : rm(out, { force: true })]);
  }
}
