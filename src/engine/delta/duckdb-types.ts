/**
 * Delta ⇄ DuckDB type mapping.
 *
 * Delta types (PROTOCOL.md "Schema Serialization Format") map onto DuckDB logical types one to one
 * for everything lakelet reads or writes. The reverse direction parses DuckDB type strings exactly
 * as `DESCRIBE` / `typeof()` print them, including nested `STRUCT(...)`, `MAP(K, V)` and `T[]`.
 */
import { InputError } from '../errors.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';

/** DuckDB stores DECIMAL in at most 128 bits, i.e. 38 significant digits. */
export const MAX_DECIMAL_PRECISION = 38;

const PRIMITIVE_TO_DUCKDB: Record<string, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  // A Delta `timestamp` is an instant (microseconds since the epoch, UTC): DuckDB's TIMESTAMPTZ.
  timestamp: 'TIMESTAMPTZ',
  // `timestamp_ntz` is a wall-clock reading with no zone: DuckDB's plain TIMESTAMP.
  timestamp_ntz: 'TIMESTAMP',
};

/** `decimal(p,s)` → {precision, scale}, or undefined if `t` is not a decimal type string. */
export function parseDecimalType(t: string): { precision: number; scale: number } | undefined {
  const m = /^\s*decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/i.exec(t);
  if (!m) return undefined;
  return { precision: Number(m[1]), scale: Number(m[2]) };
}

/**
 * A decimal's text as its unscaled integer at the type's scale, where CAST(text AS DECIMAL(p,s))
 * keeps it exact: plain digits, at most `scale` of them after the point, at most `precision` in all.
 * Rounding and exponents are left to DuckDB (undefined). (Partition values, Parquet footer bounds.)
 */
export function unscaledDecimal(text: string, dec: { precision: number; scale: number }): bigint | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const fraction = m[3] ?? '';
  if (fraction.length > dec.scale) return undefined;
  const digits = (m[2] + fraction.padEnd(dec.scale, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > dec.precision) return undefined;
  const n = BigInt(digits);
  return m[1] === '-' ? -n : n;
}

/** The DuckDB type (as SQL text usable in CAST / CREATE TABLE) for a Delta type. */
export function deltaTypeToDuckDb(t: DataType): string {
  if (typeof t === 'string') {
    const simple = PRIMITIVE_TO_DUCKDB[t];
    if (simple) return simple;
    const dec = parseDecimalType(t);
    if (dec) {
      if (dec.precision < 1 || dec.precision > MAX_DECIMAL_PRECISION || dec.scale > dec.precision) {
        throw new InputError(
          `Delta type ${t} cannot be represented in DuckDB: precision must be 1..${MAX_DECIMAL_PRECISION} ` +
            'and scale must not exceed precision.',
        );
      }
      return `DECIMAL(${dec.precision},${dec.scale})`;
    }
    throw new InputError(`Delta type "${t}" is not supported by lakelet (no DuckDB equivalent).`);
  }
  if (isStruct(t)) {
    if (t.fields.length === 0) {
      throw new InputError('An empty Delta struct type cannot be represented in DuckDB (STRUCT needs at least one field).');
    }
    return `STRUCT(${t.fields.map((f) => `${sqlIdent(f.name)} ${deltaTypeToDuckDb(f.type)}`).join(', ')})`;
  }
  if (isArray(t)) return `${deltaTypeToDuckDb(t.elementType)}[]`;
  if (isMap(t)) return `MAP(${deltaTypeToDuckDb(t.keyType)}, ${deltaTypeToDuckDb(t.valueType)})`;
  throw new InputError(`Unrecognised Delta type ${JSON.stringify(t)}.`);
}

// ---------------------------------------------------------------------------------------------
// DuckDB type string → Delta type
// ---------------------------------------------------------------------------------------------

/** DuckDB base type names (upper case, aliases included) that map to a Delta primitive. */
const DUCKDB_TO_PRIMITIVE: Record<string, string> = {
  VARCHAR: 'string',
  TEXT: 'string',
  STRING: 'string',
  CHAR: 'string',
  BPCHAR: 'string',
  JSON: 'string',
  UUID: 'string',
  BIGINT: 'long',
  INT8: 'long',
  LONG: 'long',
  INTEGER: 'integer',
  INT: 'integer',
  INT4: 'integer',
  SIGNED: 'integer',
  SMALLINT: 'short',
  INT2: 'short',
  SHORT: 'short',
  TINYINT: 'byte',
  INT1: 'byte',
  // Unsigned types widen to the next signed Delta type that holds every value.
  UINTEGER: 'long',
  USMALLINT: 'integer',
  UTINYINT: 'short',
  FLOAT: 'float',
  FLOAT4: 'float',
  REAL: 'float',
  DOUBLE: 'double',
  FLOAT8: 'double',
  BOOLEAN: 'boolean',
  BOOL: 'boolean',
  LOGICAL: 'boolean',
  BLOB: 'binary',
  BYTEA: 'binary',
  BINARY: 'binary',
  VARBINARY: 'binary',
  DATE: 'date',
  TIMESTAMPTZ: 'timestamp',
  TIMESTAMP: 'timestamp_ntz',
  DATETIME: 'timestamp_ntz',
  TIMESTAMP_US: 'timestamp_ntz',
  TIMESTAMP_MS: 'timestamp_ntz',
  TIMESTAMP_NS: 'timestamp_ntz',
  TIMESTAMP_S: 'timestamp_ntz',
  // 128-bit integers: Delta's widest exact type is decimal(38,0). Values beyond 38 digits fail
  // when cast, which DuckDB reports at write time.
  HUGEINT: 'decimal(38,0)',
  INT128: 'decimal(38,0)',
  UHUGEINT: 'decimal(38,0)',
  UINT128: 'decimal(38,0)',
  UBIGINT: 'decimal(38,0)',
};

/** Types Delta cannot hold at all, with a hint on what to do instead. */
const UNREPRESENTABLE: Record<string, string> = {
  TIME: 'Delta has no TIME type; cast it to VARCHAR, or combine it with a date into a TIMESTAMP',
  TIMETZ: 'Delta has no TIME type; cast it to VARCHAR',
  'TIME WITH TIME ZONE': 'Delta has no TIME type; cast it to VARCHAR',
  TIME_NS: 'Delta has no TIME type; cast it to VARCHAR',
  INTERVAL: 'Delta has no INTERVAL type; cast it to VARCHAR or convert it to a number (e.g. epoch seconds)',
  BIT: 'Delta has no BIT type; cast it to VARCHAR or BLOB',
  BITSTRING: 'Delta has no BIT type; cast it to VARCHAR or BLOB',
  BIGNUM: 'Delta decimals hold at most 38 digits; cast it to DECIMAL(38,s) or VARCHAR',
  VARINT: 'Delta decimals hold at most 38 digits; cast it to DECIMAL(38,s) or VARCHAR',
  UNION: 'Delta has no UNION type; split it into separate columns or cast it to VARCHAR',
  NULL: 'the column has no type (only NULL literals); cast it, e.g. NULL::VARCHAR',
  VARIANT: 'lakelet does not support the Delta variant type yet; cast it to VARCHAR (JSON)',
  GEOMETRY: 'Delta has no GEOMETRY type in lakelet; convert it to WKB (BLOB) or WKT (VARCHAR)',
};

class TypeParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly column: string,
  ) {}

  fail(detail: string): never {
    throw new InputError(
      `Column ${this.column}: cannot map DuckDB type ${JSON.stringify(this.text)} to a Delta type: ${detail}.`,
    );
  }

  private skipWs(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  peek(): string | undefined {
    this.skipWs();
    return this.text[this.pos];
  }

  atEnd(): boolean {
    this.skipWs();
    return this.pos >= this.text.length;
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected "${ch}" at offset ${this.pos}`);
    this.pos++;
  }

  /** A bare word: letters, digits, underscore. */
  word(): string | undefined {
    this.skipWs();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  /** Looks ahead for a sequence of words (case-insensitive) and consumes them if all present. */
  tryWords(...words: string[]): boolean {
    const save = this.pos;
    for (const w of words) {
      const got = this.word();
      if (!got || got.toUpperCase() !== w) {
        this.pos = save;
        return false;
      }
    }
    return true;
  }

  integer(): number {
    this.skipWs();
    const m = /^\d+/.exec(this.text.slice(this.pos));
    if (!m) this.fail(`expected a number at offset ${this.pos}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  /** A field name inside STRUCT(...): "quoted ""name""" or a bare word. */
  fieldName(): string {
    this.skipWs();
    if (this.text[this.pos] === '"') {
      let out = '';
      this.pos++;
      for (;;) {
        if (this.pos >= this.text.length) this.fail('unterminated quoted field name');
        const ch = this.text[this.pos]!;
        if (ch === '"') {
          if (this.text[this.pos + 1] === '"') {
            out += '"';
            this.pos += 2;
            continue;
          }
          this.pos++;
          return out;
        }
        out += ch;
        this.pos++;
      }
    }
    const w = this.word();
    if (w === undefined) this.fail(`expected a field name at offset ${this.pos}`);
    return w;
  }

  /** Skips a '...' string literal (used by ENUM). */
  skipStringLiteral(): void {
    this.skipWs();
    if (this.text[this.pos] !== "'") this.fail(`expected a string literal at offset ${this.pos}`);
    this.pos++;
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string literal');
      if (this.text[this.pos] === "'") {
        if (this.text[this.pos + 1] === "'") {
          this.pos += 2;
          continue;
        }
        this.pos++;
        return;
      }
      this.pos++;
    }
  }

  parseType(path: string): DataType {
    let t = this.parseBase(path);
    // Postfix list markers: T[] (LIST) and T[n] (fixed-size ARRAY) are both Delta arrays.
    while (this.peek() === '[') {
      this.pos++;
      if (this.peek() !== ']') this.integer();
      this.expect(']');
      t = { type: 'array', elementType: t, containsNull: true };
    }
    return t;
  }

  private parseBase(path: string): DataType {
    const w = this.word();
    if (w === undefined) this.fail(`expected a type name at offset ${this.pos}`);
    const name = w.toUpperCase();
    switch (name) {
      case 'STRUCT':
      case 'ROW': {
        this.expect('(');
        const fields: StructField[] = [];
        for (;;) {
          const fname = this.fieldName();
          const ftype = this.parseType(`${path}.${fname}`);
          fields.push({ name: fname, type: ftype, nullable: true, metadata: {} });
          if (this.peek() === ',') {
            this.pos++;
            continue;
          }
          this.expect(')');
          break;
        }
        return { type: 'struct', fields };
      }
      case 'MAP': {
        this.expect('(');
        const keyType = this.parseType(`${path}.key`);
        this.expect(',');
        const valueType = this.parseType(`${path}.value`);
        this.expect(')');
        return { type: 'map', keyType, valueType, valueContainsNull: true };
      }
      case 'LIST': {
        // Spelled-out form, not printed by DESCRIBE but accepted by DuckDB: LIST(T).
        this.expect('(');
        const elementType = this.parseType(`${path}.element`);
        this.expect(')');
        return { type: 'array', elementType, containsNull: true };
      }
      case 'DECIMAL':
      case 'NUMERIC':
      case 'DEC': {
        let precision = 18;
        let scale = 3;
        if (this.peek() === '(') {
          this.pos++;
          precision = this.integer();
          scale = 0;
          if (this.peek() === ',') {
            this.pos++;
            scale = this.integer();
          }
          this.expect(')');
        }
        if (precision > MAX_DECIMAL_PRECISION) this.fail(`decimal precision ${precision} exceeds ${MAX_DECIMAL_PRECISION}`);
        return `decimal(${precision},${scale})`;
      }
      case 'TIMESTAMP':
        if (this.tryWords('WITH', 'TIME', 'ZONE')) return 'timestamp';
        this.tryWords('WITHOUT', 'TIME', 'ZONE');
        return 'timestamp_ntz';
      case 'TIME':
        if (this.tryWords('WITH', 'TIME', 'ZONE')) return this.unrepresentable('TIME WITH TIME ZONE', path);
        return this.unrepresentable('TIME', path);
      case 'ENUM':
        // ENUM('a', 'b'): the values are strings.
        this.expect('(');
        for (;;) {
          this.skipStringLiteral();
          if (this.peek() === ',') {
            this.pos++;
            continue;
          }
          this.expect(')');
          break;
        }
        return 'string';
      case 'VARCHAR':
      case 'CHAR':
      case 'BPCHAR':
      case 'TEXT':
      case 'STRING':
        // VARCHAR(n): DuckDB ignores the length; so do we.
        if (this.peek() === '(') {
          this.pos++;
          this.integer();
          this.expect(')');
        }
        return 'string';
      default: {
        const prim = DUCKDB_TO_PRIMITIVE[name];
        if (prim) return prim;
        if (UNREPRESENTABLE[name]) return this.unrepresentable(name, path);
        return this.fail(`unknown type name ${w}`);
      }
    }
  }

  private unrepresentable(name: string, path: string): never {
    throw new InputError(
      `Column ${path} has DuckDB type ${name}, which a Delta table cannot store: ${UNREPRESENTABLE[name]}.`,
    );
  }
}

/**
 * Parses a DuckDB type string as DESCRIBE prints it (e.g. `STRUCT(a INTEGER, "b c" VARCHAR[])`,
 * `MAP(VARCHAR, BIGINT)`, `TIMESTAMP WITH TIME ZONE`, `DECIMAL(10,2)`) into a Delta type.
 * Nested fields, array elements and map values are nullable. Throws InputError (naming `column`)
 * for types Delta cannot store: TIME, INTERVAL, UNION, BIT, BIGNUM, …
 */
export function duckDbTypeToDelta(duckType: string, column = '(unnamed)'): DataType {
  const p = new TypeParser(duckType, column);
  const t = p.parseType(column);
  if (!p.atEnd()) p.fail('unexpected trailing text');
  return t;
}

/** A Delta struct schema for DuckDB result columns (e.g. the rows of `DESCRIBE <query>`). */
export function schemaFromDuckDbColumns(cols: ReadonlyArray<{ name: string; type: string }>): StructType {
  const seen = new Set<string>();
  const fields: StructField[] = [];
  for (const c of cols) {
    const lower = c.name.toLowerCase();
    // Delta column names are case-insensitive: two columns differing only in case collide.
    if (seen.has(lower)) {
      throw new InputError(
        `Column ${c.name} appears twice (Delta column names are case-insensitive); rename one of them.`,
      );
    }
    seen.add(lower);
    fields.push({ name: c.name, type: duckDbTypeToDelta(c.type, c.name), nullable: true, metadata: {} });
  }
  return { type: 'struct', fields };
}
