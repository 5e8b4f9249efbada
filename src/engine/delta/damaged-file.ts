import type { AddFile } from './actions.ts';
import type { Snapshot } from './snapshot.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import { resolveAddPath } from './paths.ts';
import { localFileFor } from './materialize.ts';
import { MAGIC as PAR1, parseFooter } from './parquet-lite/footer.ts';

/**
 * DuckDB's messages for an undecodable Parquet file often name no file ("don't know what type") or
 * only a local cache path. When a scan fails with one of them, this finds which of the scanned
 * files is damaged, so the error can name it and the version. Runs only on that error path.
 */
// Only DuckDB's Parquet decoding failures: other errors (a failed cast, a user's predicate) must not
// send a large table through the value check below.
export const DAMAGE_MESSAGE = /magic bytes|don't know what type|corrupt|TProtocolException|footer|failed to read parquet|invalid metadata|decompress|snappy|zstd|compression codec/i;

export async function findDamagedFile(snapshot: Snapshot, files: AddFile[]): Promise<{ file: AddFile; reason: string } | undefined> {
  const { store, compute } = snapshot.table;
  // First the footers, read by range: a truncated or overwritten file fails here cheaply.
  for (const f of files) {
    const resolved = resolveAddPath(store.uri, f.path);
    if (resolved.kind !== 'relative') continue;
    const reason = await footerProblem(snapshot, resolved.key).catch((err: unknown) => `its footer cannot be read: ${firstLine(err)}`);
    if (reason) return { file: f, reason };
  }
  // Then every value of each file, through DuckDB: damage inside a data page.
  for (const f of files) {
    const resolved = resolveAddPath(store.uri, f.path);
    const local = resolved.kind === 'relative' ? await localFileFor(store, resolved.key, f.size).catch(() => undefined) : resolved.localPath;
    if (!local) continue;
    try {
      await compute.query(`SELECT max(hash(COLUMNS(*))) AS h FROM read_parquet(${sqlString(local)})`);
    } catch (err) {
      return { file: f, reason: firstLine(err) };
    }
  }
  return undefined;
}

async function footerProblem(snapshot: Snapshot, key: string): Promise<string | undefined> {
  const { store } = snapshot.table;
  const meta = await store.head(key);
  if (!meta) return undefined; // missing, not damaged: MissingFileError says so
  if (meta.size < 12) return `${meta.size} bytes, too short to be Parquet`;
  const first = await store.getRange(key, 0, 4);
  const head = new DataView(first.buffer, first.byteOffset, 4);
  const tail = await store.getRange(key, meta.size - 8, 8);
  const tailView = new DataView(tail.buffer, tail.byteOffset, 8);
  if (head.getUint32(0, true) !== PAR1 || tailView.getUint32(4, true) !== PAR1) return 'no PAR1 magic at its start or end (truncated or overwritten)';
  const footerLength = tailView.getUint32(0, true);
  const footerStart = meta.size - 8 - footerLength;
  if (footerStart < 4) return 'its footer length points outside the file (truncated or overwritten)';
  try {
    parseFooter(await store.getRange(key, footerStart, footerLength), footerStart);
  } catch (err) {
    return firstLine(err).replace(/^parquet-lite: /, '');
  }
  return undefined;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
