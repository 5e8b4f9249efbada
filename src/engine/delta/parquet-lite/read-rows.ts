import { readFooter, type SchemaNode } from './footer.ts';
import { readColumnChunk } from './column-chunk.ts';
import { assembleLeaf, leavesOf, mergeNode } from './assemble.ts';
import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * The rows of a Parquet file held in memory, as JSON-shaped objects (what DuckDB's
 * `to_json(row)` gives, parsed), for the top-level columns named in `columns` (all when omitted).
 * Throws ParquetLiteUnsupported for anything outside its narrow scope; see column-chunk.ts for
 * the codecs, encodings and types it decodes.
 */
export function readParquetRows(file: Uint8Array, columns?: ReadonlySet<string>): Record<string, unknown>[] {
  const meta = readFooter(file);
  const tops: SchemaNode[] = meta.root.children.filter((c) => !columns || columns.has(c.name));
  const rows: Record<string, unknown>[] = [];
  for (const rg of meta.rowGroups) {
    const perTop = tops.map((top) => {
      const leaves = leavesOf(top);
      const assembled = leaves.map((leaf) => {
        const chunk = rg.columns.get(leaf.path.join('\u0000'));
        if (!chunk) throw new ParquetLiteUnsupported(`row group lacks column ${leaf.path.join('.')}`);
        return assembleLeaf(top, leaf, readColumnChunk(file, chunk, leaf), rg.numRows);
      });
      return { top, assembled };
    });
    for (let r = 0; r < rg.numRows; r++) {
      const row: Record<string, unknown> = {};
      for (const { top, assembled } of perTop) {
        row[top.name] = mergeNode(top, assembled.length === 1 ? [assembled[0][r]] : assembled.map((a) => a[r]));
      }
      rows.push(row);
    }
  }
  return rows;
}
