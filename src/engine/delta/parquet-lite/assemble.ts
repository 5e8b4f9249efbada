import { Repetition, type SchemaNode } from './footer.ts';
import type { ColumnData } from './column-chunk.ts';
import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * Record assembly (Dremel): shredded leaf columns back into nested JSON values, the way DuckDB's
 * to_json renders a row: structs as objects, LIST as arrays, MAP as objects, absent values as null.
 *
 * Each leaf is first assembled on its own into a per-row "path value": an array at each repeated
 * node, the leaf's value at the end, or, where the path stops at an undefined optional node, an
 * Undefined marker holding the definition level (so a group knows whether it is the node that is
 * null or a node below it). The leaves under one group agree on every null and every array
 * length, so a group's value is the zip of its children's path values.
 */

/** The path of one entry stops at an undefined optional node; `def` tells which. */
class Undefined {
  constructor(readonly def: number) {}
}
const UNDEFINED: Undefined[] = Array.from({ length: 64 }, (_, d) => new Undefined(d));

/** Every leaf under `node`, in schema order. */
export function leavesOf(node: SchemaNode): SchemaNode[] {
  if (node.children.length === 0) return [node];
  return node.children.flatMap(leavesOf);
}

/** The path values of one leaf, one per row, starting at `top` (a child of the schema root). */
export function assembleLeaf(top: SchemaNode, leaf: SchemaNode, col: ColumnData, numRows: number): unknown[] {
  const nodes: SchemaNode[] = [];
  let n: SchemaNode | undefined = top;
  for (let depth = 1; n; depth++) {
    nodes.push(n);
    if (n === leaf) break;
    const name: string = leaf.path[depth];
    n = n.children.find((c) => c.name === name);
  }
  if (nodes.at(-1) !== leaf) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')} is not under ${top.name}`);
  const last = nodes.length - 1;
  // The node index of each repetition level (1-based levels).
  const repeatedAt: number[] = [-1];
  nodes.forEach((node, i) => {
    if (node.repetition === Repetition.REPEATED) repeatedAt.push(i);
  });
  const arrays: unknown[][] = new Array(nodes.length);
  const { rep, def, values } = col;
  let vi = 0;

  const build = (i: number, d: number, asElement: boolean): unknown => {
    for (;;) {
      const node = nodes[i];
      if (!asElement) {
        if (node.repetition === Repetition.OPTIONAL && d < node.defLevel) return UNDEFINED[d] ?? new Undefined(d);
        if (node.repetition === Repetition.REPEATED) {
          const arr: unknown[] = [];
          arrays[i] = arr;
          if (d >= node.defLevel) arr.push(build(i, d, true));
          return arr;
        }
      }
      if (i === last) {
        if (vi >= values.length) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')} has fewer values than levels`);
        return values[vi++];
      }
      i++;
      asElement = false;
    }
  };

  const rows: unknown[] = [];
  for (let e = 0; e < col.count; e++) {
    const r = rep ? rep[e] : 0;
    const d = def ? def[e] : 0;
    if (r === 0) {
      rows.push(build(0, d, false));
    } else {
      const j = repeatedAt[r];
      const target = j === undefined ? undefined : arrays[j];
      if (!target) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')}: repetition level ${r} continues nothing`);
      target.push(build(j, d, true));
    }
  }
  if (rows.length !== numRows) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')} has ${rows.length} rows, the row group ${numRows}`);
  if (vi !== values.length) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')} has more values than levels`);
  return rows;
}

const CONVERTED_MAP = 1;
const CONVERTED_MAP_KEY_VALUE = 2;
const CONVERTED_LIST = 3;
const LOGICAL_MAP = 2;
const LOGICAL_LIST = 3;

function isMap(node: SchemaNode): boolean {
  return node.convertedType === CONVERTED_MAP || node.convertedType === CONVERTED_MAP_KEY_VALUE || node.logicalType?.[LOGICAL_MAP] !== undefined;
}
function isList(node: SchemaNode): boolean {
  return node.convertedType === CONVERTED_LIST || node.logicalType?.[LOGICAL_LIST] !== undefined;
}

/** Zips the path values of the leaves under `node` (in leaf order) into the node's value. */
export function mergeNode(node: SchemaNode, parts: unknown[], asElement = false): unknown {
  const first = parts[0];
  if (first instanceof Undefined) {
    // Undefined here (null) or at a node below (descend: the children find their own nulls).
    if (first.def < node.defLevel || node.children.length === 0) return null;
  } else if (!asElement && node.repetition === Repetition.REPEATED) {
    const items = first as unknown[];
    const out = new Array(items.length);
    for (let k = 0; k < items.length; k++) out[k] = mergeNode(node, parts.length === 1 ? [items[k]] : parts.map((p) => (p as unknown[])[k]), true);
    return out;
  }
  if (node.children.length === 0) return parts[0];
  const obj: Record<string, unknown> = {};
  let offset = 0;
  for (const child of node.children) {
    const count = leafCount(child);
    obj[child.name] = mergeNode(child, count === 1 ? [parts[offset]] : parts.slice(offset, offset + count));
    offset += count;
  }
  if (isMap(node)) return mapValue(node, obj);
  if (isList(node)) return listValue(node, obj);
  return obj;
}

const counts = new WeakMap<SchemaNode, number>();
function leafCount(node: SchemaNode): number {
  let c = counts.get(node);
  if (c === undefined) {
    c = leavesOf(node).length;
    counts.set(node, c);
  }
  return c;
}

/** MAP: one repeated key_value group of key (and value): a JSON object, as DuckDB prints a MAP. */
function mapValue(node: SchemaNode, obj: Record<string, unknown>): Record<string, unknown> {
  const kv = node.children[0];
  if (node.children.length !== 1 || kv.repetition !== Repetition.REPEATED || kv.children.length < 1 || kv.children.length > 2) {
    throw new ParquetLiteUnsupported(`map ${node.path.join('.') || node.name} has an unexpected layout`);
  }
  const [keyNode, valueNode] = kv.children;
  const out: Record<string, unknown> = {};
  for (const entry of obj[kv.name] as Record<string, unknown>[]) {
    const key = entry[keyNode.name];
    if (typeof key !== 'string') throw new ParquetLiteUnsupported('map keys that are not strings');
    out[key] = valueNode ? entry[valueNode.name] : null;
  }
  return out;
}

/** LIST: the standard three levels (list.element) or the legacy two-level forms. */
function listValue(node: SchemaNode, obj: Record<string, unknown>): unknown[] {
  const repeated = node.children[0];
  if (node.children.length !== 1 || repeated.repetition !== Repetition.REPEATED) {
    throw new ParquetLiteUnsupported(`list ${node.name} has an unexpected layout`);
  }
  const items = obj[repeated.name] as unknown[];
  // Backward-compatibility rules (LogicalTypes.md): a repeated group of one field is the element
  // wrapper unless it is named `array` or `<list>_tuple`, in which case it is the element itself.
  const wrapper = repeated.children.length === 1 && repeated.name !== 'array' && repeated.name !== `${node.name}_tuple`;
  if (!wrapper) return items;
  const elementName = repeated.children[0].name;
  return items.map((it) => (it as Record<string, unknown>)[elementName]);
}
