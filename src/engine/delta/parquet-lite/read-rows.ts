import { readFooter, type FileMeta, type SchemaNode } from './footer.ts';
import { readColumnChunk } from './column-chunk.ts';
import { Assembler } from './assemble.ts';
import { ParquetLiteUnsupported } from './unsupported.ts';
import { LazyStrings } from './lazy-strings.ts';

export interface ReadRowsOptions {
  /** Only these top-level columns (all when omitted). */
  columns?: ReadonlySet<string>;
  /**
   * Leave out struct fields that are null (not inside lists; map entries keep theirs), as a Delta
   * action's JSON omits absent optional fields. Default: keep them, as DuckDB's to_json does.
   */
  omitNullFields?: boolean;
  /** With omitNullFields: struct fields of these names are kept even when null. */
  keepNullFields?: ReadonlySet<string>;
  /**
   * String leaves (dotted paths, e.g. `add.stats`) outside any list or map whose values become
   * strings only when first read (lazy-strings.ts); every reader of the rows sees the same values.
   */
  lazyStrings?: ReadonlySet<string>;
  /** The file's footer when the caller has read it already (readFooter). */
  footer?: FileMeta;
}

/**
 * The rows of a Parquet file held in memory, as JSON-shaped objects (what DuckDB's
 * `to_json(row)` gives, parsed). Throws ParquetLiteUnsupported for anything outside its narrow
 * scope; see column-chunk.ts for the codecs, encodings and types it decodes.
 */
export function readParquetRows(file: Uint8Array, options: ReadRowsOptions = {}): Record<string, unknown>[] {
  const meta = options.footer ?? readFooter(file);
  const { columns } = options;
  const tops: SchemaNode[] = meta.root.children.filter((c) => !columns || columns.has(c.name));
  const rows: Record<string, unknown>[] = [];
  for (const rg of meta.rowGroups) {
    const assembler = new Assembler(
      tops,
      (leaf) => {
        const chunk = rg.columns.get(leaf.path.join('\u0000'));
        if (!chunk) throw new ParquetLiteUnsupported(`row group lacks column ${leaf.path.join('.')}`);
        const lazy = options.lazyStrings?.has(leaf.path.join('.')) && leaf.repLevel === 0 ? new LazyStrings(leaf.name) : undefined;
        return readColumnChunk(file, chunk, leaf, undefined, lazy);
      },
      rg.numRows,
      options.omitNullFields === true,
      options.keepNullFields,
    );
    // One row group (a checkpoint's usual shape): its rows as they are, not copied over.
    if (meta.rowGroups.length === 1) return assembler.rows();
    for (const row of assembler.rows()) rows.push(row);
  }
  return rows;
}
