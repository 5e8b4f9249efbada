import { CompactReader, type ThriftStruct, type ThriftValue } from './thrift-compact.ts';
import { ParquetLiteUnsupported } from './unsupported.ts';

/** parquet.thrift enums, as far as this reader needs them. */
export const Type = { BOOLEAN: 0, INT32: 1, INT64: 2, INT96: 3, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6, FIXED_LEN_BYTE_ARRAY: 7 } as const;
export const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;

/** One node of the file's schema tree, with the Dremel levels of the path down to it. */
export interface SchemaNode {
  name: string;
  repetition: number;
  /** Physical type; undefined for a group. */
  type?: number;
  convertedType?: number;
  logicalType?: ThriftStruct;
  /** FIXED_LEN_BYTE_ARRAY: bytes per value. */
  typeLength?: number;
  /** Legacy DECIMAL annotation (converted type 5); the logical type carries its own. */
  scale?: number;
  precision?: number;
  children: SchemaNode[];
  /** Max definition / repetition level of the path from the root to this node. */
  defLevel: number;
  repLevel: number;
  /** Column path (leaves only). */
  path: string[];
}

export interface ColumnChunkMeta {
  type: number;
  codec: number;
  numValues: number;
  /** Where the chunk's first page (dictionary or data) starts, and its compressed length. */
  start: number;
  length: number;
}

export interface RowGroupMeta {
  numRows: number;
  /** By column path joined with NUL. */
  columns: Map<string, ColumnChunkMeta>;
}

export interface FileMeta {
  root: SchemaNode;
  rowGroups: RowGroupMeta[];
}

export const MAGIC = 0x31524150; // "PAR1" little-endian

function num(v: ThriftValue | undefined, what: string): number {
  if (typeof v !== 'number') throw new ParquetLiteUnsupported(`footer field ${what} is missing`);
  return v;
}

function str(v: ThriftValue | undefined): string {
  if (!(v instanceof Uint8Array)) throw new ParquetLiteUnsupported('schema element without a name');
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
}

function list(v: ThriftValue | undefined): ThriftValue[] {
  return Array.isArray(v) ? v : [];
}

/** Reads the footer of a whole Parquet file held in memory. */
export function readFooter(file: Uint8Array): FileMeta {
  if (file.length < 12) throw new ParquetLiteUnsupported('file is too short to be Parquet');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(file.length - 4, true) !== MAGIC) {
    throw new ParquetLiteUnsupported('no PAR1 magic (truncated, encrypted or not Parquet)');
  }
  const footerLength = view.getUint32(file.length - 8, true);
  const footerStart = file.length - 8 - footerLength;
  if (footerStart < 4) throw new ParquetLiteUnsupported('footer length points outside the file');
  return parseFooter(file.subarray(footerStart, file.length - 8), footerStart);
}

/**
 * Parses a footer's bytes alone, given where it starts in its file (column chunks must end before
 * it): for a caller that read only the footer by range (a damaged-file check).
 */
export function parseFooter(footer: Uint8Array, footerStart: number): FileMeta {
  const meta = new CompactReader(footer).readStruct();

  const elements = list(meta[2]) as ThriftStruct[];
  if (elements.length === 0) throw new ParquetLiteUnsupported('empty schema');
  let next = 0;
  const build = (parentDef: number, parentRep: number, parentPath: string[], isRoot: boolean): SchemaNode => {
    const e = elements[next++];
    if (!e) throw new ParquetLiteUnsupported('schema ends early');
    const repetition = isRoot ? Repetition.REQUIRED : ((e[3] as number | undefined) ?? Repetition.REQUIRED);
    const name = str(e[4]);
    const defLevel = parentDef + (repetition === Repetition.REQUIRED ? 0 : 1);
    const repLevel = parentRep + (repetition === Repetition.REPEATED ? 1 : 0);
    const path = isRoot ? [] : [...parentPath, name];
    const numChildren = (e[5] as number | undefined) ?? 0;
    const node: SchemaNode = {
      name,
      repetition,
      type: numChildren > 0 || isRoot ? undefined : (e[1] as number | undefined),
      convertedType: e[6] as number | undefined,
      logicalType: e[10] as ThriftStruct | undefined,
      typeLength: e[2] as number | undefined,
      scale: e[7] as number | undefined,
      precision: e[8] as number | undefined,
      children: [],
      defLevel,
      repLevel,
      path,
    };
    if (node.type === undefined && numChildren === 0 && !isRoot) throw new ParquetLiteUnsupported(`column ${path.join('.')} has no type`);
    for (let i = 0; i < numChildren; i++) node.children.push(build(defLevel, repLevel, path, false));
    return node;
  };
  const root = build(0, 0, [], true);
  if (next !== elements.length) throw new ParquetLiteUnsupported('schema has elements outside the tree');

  const rowGroups: RowGroupMeta[] = [];
  for (const rg of list(meta[4]) as ThriftStruct[]) {
    const columns = new Map<string, ColumnChunkMeta>();
    for (const cc of list(rg[1]) as ThriftStruct[]) {
      if (cc[1] !== undefined) throw new ParquetLiteUnsupported('column chunk in another file');
      const md = cc[3] as ThriftStruct | undefined;
      if (!md) throw new ParquetLiteUnsupported('column chunk without metadata (encrypted?)');
      const path = (list(md[3]) as Uint8Array[]).map((p) => str(p));
      const dataOffset = num(md[9], 'data_page_offset');
      const dictOffset = md[11] as number | undefined;
      // Some writers put a dictionary offset of 0 for "none"; a dictionary always precedes the data pages.
      const start = dictOffset !== undefined && dictOffset > 0 && dictOffset < dataOffset ? dictOffset : dataOffset;
      const length = num(md[7], 'total_compressed_size');
      if (start < 4 || start + length > footerStart) throw new ParquetLiteUnsupported(`column ${path.join('.')} lies outside the file`);
      columns.set(path.join('\u0000'), { type: num(md[1], 'type'), codec: num(md[4], 'codec'), numValues: num(md[5], 'num_values'), start, length });
    }
    rowGroups.push({ numRows: num(rg[3], 'num_rows'), columns });
  }
  return { root, rowGroups };
}
