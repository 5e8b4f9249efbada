import { Repetition, type SchemaNode } from './footer.ts';
import type { ColumnData } from './column-chunk.ts';
import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * Record assembly (Dremel): shredded leaf columns back into nested JSON values, the way DuckDB's
 * to_json renders a row: structs as objects, LIST as arrays, MAP as objects, absent values as null.
 *
 * One cursor per leaf walks its levels. Where an optional group is undefined, every leaf under it
 * holds exactly one entry for that null (its definition level says how deep the path got), so the
 * group's first leaf decides and all its leaves step over one entry. A repeated node reads
 * elements while the next entry's repetition level says "another element of this list".
 */

/** Every leaf under `node`, in schema order. */
export function leavesOf(node: SchemaNode): SchemaNode[] {
  if (node.children.length === 0) return [node];
  return node.children.flatMap(leavesOf);
}

const CONVERTED_MAP = 1;
const CONVERTED_MAP_KEY_VALUE = 2;
const CONVERTED_LIST = 3;
const LOGICAL_MAP = 2;
const LOGICAL_LIST = 3;

type Shape = 'struct' | 'map' | 'list' | 'leaf';

/** A schema node prepared for assembly: its leaves as index range, its shape decided once. */
interface Plan {
  node: SchemaNode;
  shape: Shape;
  children: Plan[];
  /** Leaf indexes [first, end) into the assembler's columns. */
  first: number;
  end: number;
  /** map: the key and (optional) value plans inside the repeated key_value group. */
  keyName?: string;
  valueName?: string;
  /** list: whether the repeated child is a wrapper around the element (the standard layout). */
  elementName?: string;
}

function shapeOf(node: SchemaNode): Shape {
  if (node.children.length === 0) return 'leaf';
  // Legacy writers put MAP_KEY_VALUE on the map group or on its repeated key_value group (a struct).
  const legacyMap = node.convertedType === CONVERTED_MAP_KEY_VALUE && node.repetition !== Repetition.REPEATED;
  if (node.convertedType === CONVERTED_MAP || legacyMap || node.logicalType?.[LOGICAL_MAP] !== undefined) return 'map';
  if (node.convertedType === CONVERTED_LIST || node.logicalType?.[LOGICAL_LIST] !== undefined) return 'list';
  return 'struct';
}

export class Assembler {
  private readonly columns: ColumnData[] = [];
  private readonly plans: Plan[];
  /** Per leaf: next entry, next value. */
  private entry: Int32Array;
  private value: Int32Array;
  private maxDef: number[] = [];
  /** Per leaf: the row its cursor (entry, value) stands at the start of. */
  private atRow: Int32Array;

  /** `tops`: the root's children to assemble; `columnFor(leaf)` decodes one leaf column. */
  constructor(
    tops: SchemaNode[],
    columnFor: (leaf: SchemaNode) => ColumnData,
    private readonly numRows: number,
    private readonly omitNullFields: boolean,
    private readonly keepNullFields: ReadonlySet<string> = new Set(),
  ) {
    this.plans = tops.map((t) => this.plan(t, columnFor));
    this.entry = new Int32Array(this.columns.length);
    this.value = new Int32Array(this.columns.length);
    this.atRow = new Int32Array(this.columns.length);
    for (const c of this.columns) {
      if (!c.rep && c.count !== numRows) throw new ParquetLiteUnsupported(`a column holds ${c.count} values for ${numRows} rows`);
    }
  }

  /** Moves leaf `i`'s cursor forward to the start of row `r`, counting the values it passes. */
  private seek(i: number, r: number): void {
    let row = this.atRow[i];
    if (row === r) return;
    if (row > r) throw new ParquetLiteUnsupported('rows read out of order');
    const { rep, def, count, values, rowStarts, lazy } = this.columns[i];
    const maxDef = this.maxDef[i];
    let e = this.entry[i];
    let v = this.value[i];
    if (!rep || rowStarts === count) {
      // One entry per row (a repeated leaf too when no row holds a second entry): entry r starts
      // row r. Without any value (a map null or empty in every row) nothing is counted.
      if (r > count) throw new ParquetLiteUnsupported('a column ends before its row group');
      if (!def) v += r - e;
      else if (values.length > 0 || (lazy && lazy.length > 0)) for (; e < r; e++) v += def[e] === maxDef ? 1 : 0;
      e = r;
    } else {
      for (; row < r; row++) {
        if (e >= count) throw new ParquetLiteUnsupported('a column ends before its row group');
        do {
          if (!def || def[e] === maxDef) v++;
          e++;
        } while (e < count && rep[e] !== 0);
      }
    }
    this.entry[i] = e;
    this.value[i] = v;
    this.atRow[i] = r;
  }

  private plan(node: SchemaNode, columnFor: (leaf: SchemaNode) => ColumnData): Plan {
    const shape = shapeOf(node);
    const first = this.columns.length;
    const p: Plan = { node, shape, children: [], first, end: first };
    if (shape === 'leaf') {
      this.columns.push(columnFor(node));
      this.maxDef.push(node.defLevel);
    } else {
      p.children = node.children.map((c) => this.plan(c, columnFor));
    }
    p.end = this.columns.length;
    if (shape === 'map') {
      const kv = node.children[0];
      if (node.children.length !== 1 || kv.repetition !== Repetition.REPEATED || kv.children.length < 1 || kv.children.length > 2 || kv.children[0].children.length > 0) {
        throw new ParquetLiteUnsupported(`map ${node.path.join('.') || node.name} has an unexpected layout`);
      }
      p.keyName = kv.children[0].name;
      p.valueName = kv.children[1]?.name;
    } else if (shape === 'list') {
      const repeated = node.children[0];
      if (node.children.length !== 1 || repeated.repetition !== Repetition.REPEATED) throw new ParquetLiteUnsupported(`list ${node.name} has an unexpected layout`);
      // Backward-compatibility rules (LogicalTypes.md): a repeated group of one field wraps the
      // element unless it is named `array` or `<list>_tuple`, in which case it is the element.
      const wrapper = repeated.children.length === 1 && repeated.name !== 'array' && repeated.name !== `${node.name}_tuple`;
      p.elementName = wrapper ? repeated.children[0].name : undefined;
    }
    return p;
  }

  /**
   * Every row of the row group. Structs and plain leaves outside any list or map are assembled a
   * column at a time (one tight loop per leaf over the rows where its parent exists, which the JIT
   * optimises within a few hundred rows), each value stored straight into its object; a list, a
   * map or a repeated field is read row by row with the cursors. In a checkpoint that is all of
   * `add` but its partitionValues and tags. With omitNullFields a null top-level column is left
   * out of the row too.
   */
  rows(): Record<string, unknown>[] {
    const all = new Int32Array(this.numRows);
    for (let r = 0; r < this.numRows; r++) all[r] = r;
    const out: Record<string, unknown>[] = new Array(this.numRows);
    for (let r = 0; r < this.numRows; r++) out[r] = {};
    for (const p of this.plans) this.fill(p, all, out);
    this.finish();
    return out;
  }

  /** Whether a null field named `name` is stored (as null) or left out. */
  private keeps(name: string): boolean {
    return !this.omitNullFields || this.keepNullFields.has(name);
  }

  /**
   * Stores `p`'s value at each of `rows` (ascending; `p` not inside any repeated node) as field
   * `p.node.name` of `into[k]`.
   */
  private fill(p: Plan, rows: Int32Array, into: Record<string, unknown>[]): void {
    const node = p.node;
    const name = node.name;
    const n = rows.length;
    const keepNull = this.keeps(name);
    if (p.shape === 'leaf' && node.repetition !== Repetition.REPEATED) {
      // Outside any repeated node a leaf has one entry per row, at the row's index; a value for
      // each defined entry, and it can only be defined where its parent exists (in `rows`).
      const c = this.columns[p.first];
      const def = c.def;
      const values = c.values;
      const maxDef = this.maxDef[p.first];
      let v = 0;
      // A column without a value anywhere (an action's unused field) stores nothing.
      if (!keepNull && (c.lazy ? c.lazy.length : values.length) === 0) return;
      if (c.lazy) {
        // Values read on demand: value v is index v of the column's LazyStrings.
        const lazy = c.lazy;
        for (let k = 0; k < n; k++) {
          if (!def || def[rows[k]] === maxDef) lazy.attach(into[k], v++);
          else if (keepNull) into[k][name] = null;
        }
      } else if (!def) for (let k = 0; k < n; k++) into[k][name] = values[v++];
      else {
        for (let k = 0; k < n; k++) {
          if (def[rows[k]] === maxDef) into[k][name] = values[v++];
          else if (keepNull) into[k][name] = null;
        }
      }
      return;
    }
    // Lists, maps, repeated nodes, and optional structs whose first leaf repeats (its level at a
    // row start is not at the row's index): row by row.
    if (p.shape !== 'struct' || node.repetition === Repetition.REPEATED || (node.repetition === Repetition.OPTIONAL && this.columns[p.first].rep)) {
      if (this.fillNullOrEmpty(p, rows, into, keepNull)) return;
      for (let k = 0; k < n; k++) {
        const v = this.readRow(p, rows[k]);
        if (v !== null || keepNull) into[k][name] = v;
      }
      return;
    }
    // A struct: present where its first leaf is defined at least to the struct's own level.
    let present = rows;
    let targets = into;
    if (node.repetition === Repetition.OPTIONAL) {
      // Present where the first leaf's level reaches the struct's; that leaf has one entry per
      // row, and below `rows` (where the parent is missing) its level is lower still, so the
      // leaf's level counts say how many rows hold the struct without a look at them.
      const first = this.columns[p.first];
      const def = first.def!;
      let count = 0;
      for (let d = node.defLevel; d < first.defCounts.length; d++) count += first.defCounts[d];
      if (count === 0) {
        if (keepNull) for (let k = 0; k < n; k++) into[k][name] = null;
        return;
      }
      if (count > n) throw new ParquetLiteUnsupported(`column ${node.name} is inconsistent with its parent`);
      if (count < n) {
        present = new Int32Array(count);
        targets = new Array(count);
        let j = 0;
        for (let k = 0; k < n; k++) {
          if (def[rows[k]] >= node.defLevel) {
            if (j < count) {
              present[j] = rows[k];
              targets[j] = into[k];
            }
            j++;
          } else if (keepNull) into[k][name] = null;
        }
        // Levels at or above the struct's outside its parent's rows: a damaged file.
        if (j !== count) throw new ParquetLiteUnsupported(`column ${node.name} is inconsistent with its parent`);
      }
    }
    const objs: Record<string, unknown>[] = new Array(present.length);
    for (let j = 0; j < present.length; j++) objs[j] = targets[j][name] = {};
    for (const child of p.children) this.fill(child, present, objs);
  }

  /**
   * A map or list (not repeated itself, outside any repeated node) whose leaves hold exactly one
   * entry per row: where that entry says the map/list is null or empty, its value is stored without
   * the cursors (a checkpoint's add.partitionValues and add.tags of an unpartitioned table: 10,000
   * empty maps read row by row cost more than all other add fields). Rows holding an element are
   * read by readRow, whose cursors count the entries skipped here. False when the shortcut does
   * not apply; nothing is stored then.
   */
  private fillNullOrEmpty(p: Plan, rows: Int32Array, into: Record<string, unknown>[], keepNull: boolean): boolean {
    const node = p.node;
    if ((p.shape !== 'map' && p.shape !== 'list') || node.repetition === Repetition.REPEATED) return false;
    for (let i = p.first; i < p.end; i++) if (this.columns[i].count !== this.numRows) return false;
    const def = this.columns[p.first].def;
    const repeated = node.children[0];
    if (!def || repeated.repetition !== Repetition.REPEATED) return false;
    const isMap = p.shape === 'map';
    // Null in every row (a checkpoint's add.tags, usually), and nulls left out: nothing to store.
    const counts = this.columns[p.first].defCounts;
    let nulls = 0;
    for (let d = 0; d < node.defLevel && d < counts.length; d++) nulls += counts[d];
    if (!keepNull && nulls === this.numRows) return true;
    // One entry per row: row r's entry is entry r. Below the node's level it is null; below the
    // repeated group's level it exists without elements.
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      const d = def[r];
      if (d < node.defLevel) {
        if (keepNull) into[k][node.name] = null;
      } else if (d < repeated.defLevel) into[k][node.name] = isMap ? {} : [];
      else {
        const v = this.readRow(p, r);
        if (v !== null || keepNull) into[k][node.name] = v;
      }
    }
    return true;
  }

  /** `p` (a list, map or repeated node) at row `r`, read with the cursors of its leaves. */
  private readRow(p: Plan, r: number): unknown {
    for (let i = p.first; i < p.end; i++) this.seek(i, r);
    const value = this.read(p, false, false);
    // Every leaf must now stand at the start of the next row (else the file is damaged).
    for (let i = p.first; i < p.end; i++) {
      const c = this.columns[i];
      const e = this.entry[i];
      if (e < c.count && c.rep && c.rep[e] !== 0) throw new ParquetLiteUnsupported(`column ${p.node.name} is inconsistent at row ${r}`);
      this.atRow[i] = r + 1;
    }
    return value;
  }

  /**
   * After the last row: every repeated leaf used up exactly (a damaged file could hold entries for
   * more rows). A flat leaf was checked up front (one entry per row), and every leaf holds exactly
   * one value per defined entry by construction (column-chunk.ts decodes that many).
   */
  private finish(): void {
    for (let i = 0; i < this.columns.length; i++) {
      if (!this.columns[i].rep) continue;
      this.seek(i, this.numRows);
      if (this.entry[i] !== this.columns[i].count) throw new ParquetLiteUnsupported('a column holds more entries than its rows');
    }
  }

  private def(leaf: number): number {
    const c = this.columns[leaf];
    const e = this.entry[leaf];
    if (e >= c.count) throw new ParquetLiteUnsupported('a column ends before its row group');
    return c.def ? c.def[e] : 0;
  }

  private nextRep(leaf: number): number {
    const c = this.columns[leaf];
    const e = this.entry[leaf];
    return e < c.count && c.rep ? c.rep[e] : 0;
  }

  /** Steps every leaf under `p` over the single entry that stands for a null or empty `p`. */
  private skip(p: Plan): void {
    for (let i = p.first; i < p.end; i++) this.entry[i]++;
  }

  private read(p: Plan, asElement: boolean, inList: boolean): unknown {
    const node = p.node;
    if (!asElement) {
      if (node.repetition === Repetition.OPTIONAL && this.def(p.first) < node.defLevel) {
        this.skip(p);
        return null;
      }
      if (node.repetition === Repetition.REPEATED) {
        if (this.def(p.first) < node.defLevel) {
          this.skip(p);
          return [];
        }
        const items: unknown[] = [];
        do items.push(this.read(p, true, true));
        while (this.nextRep(p.first) === node.repLevel && this.entry[p.first] < this.columns[p.first].count);
        return items;
      }
    }
    switch (p.shape) {
      case 'leaf': {
        const i = p.first;
        const d = this.def(i);
        this.entry[i]++;
        if (d < this.maxDef[i]) return null;
        const c = this.columns[i];
        return c.lazy ? c.lazy.value(this.value[i]++) : c.values[this.value[i]++];
      }
      case 'struct': {
        const obj: Record<string, unknown> = {};
        const omit = this.omitNullFields && !inList;
        for (const c of p.children) {
          const v = this.read(c, false, inList);
          if (v !== null || !omit || this.keepNullFields.has(c.node.name)) obj[c.node.name] = v;
        }
        return obj;
      }
      case 'map': {
        const entries = this.read(p.children[0], false, true) as unknown[];
        const kv = p.children[0];
        const out: Record<string, unknown> = {};
        for (const e of entries) {
          const rec = e as Record<string, unknown>;
          const key = rec[p.keyName!];
          if (typeof key !== 'string') throw new ParquetLiteUnsupported(`map ${kv.node.path.join('.')} has keys that are not strings`);
          out[key] = p.valueName !== undefined ? (rec[p.valueName] ?? null) : null;
        }
        return out;
      }
      case 'list': {
        const items = this.read(p.children[0], false, true) as unknown[];
        if (p.elementName === undefined) return items;
        const name = p.elementName;
        return items.map((it) => (it as Record<string, unknown>)[name]);
      }
    }
  }
}
