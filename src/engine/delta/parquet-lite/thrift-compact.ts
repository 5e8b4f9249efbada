import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * A reader for Thrift's compact protocol, as Parquet encodes its footer and page headers. Structs
 * are read generically into `{ fieldId: value }` (lists as arrays, nested structs as the same
 * objects, i64 as a number: offsets and counts in a footer stay far below 2^53), so the footer
 * code picks the fields it knows by id and unknown fields are skipped for free.
 */
export type ThriftValue = number | boolean | Uint8Array | ThriftStruct | ThriftValue[];
export interface ThriftStruct {
  [field: number]: ThriftValue;
}

const STOP = 0;
const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const SET = 10;
const MAP = 11;
const STRUCT = 12;

export class CompactReader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new ParquetLiteUnsupported('thrift data ends early');
    return this.buf[this.pos++];
  }

  /** Unsigned LEB128, exact up to 2^53. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new ParquetLiteUnsupported('thrift varint is too long');
  }

  zigzag(): number {
    const n = this.varint();
    // n is even for non-negative values: n/2; odd for negative: -(n+1)/2. Exact beyond 32 bits.
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  readStruct(): ThriftStruct {
    const out: ThriftStruct = {};
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === STOP) return out;
      const delta = header >> 4;
      const id = delta === 0 ? this.zigzag() : lastId + delta;
      lastId = id;
      out[id] = type === TRUE ? true : type === FALSE ? false : this.readValue(type);
    }
  }

  private readValue(type: number): ThriftValue {
    switch (type) {
      // Only list elements get here (a struct's booleans live in the field header): one byte each.
      case TRUE:
      case FALSE:
        return this.byte() === TRUE;
      case BYTE: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case I16:
      case I32:
      case I64:
        return this.zigzag();
      case DOUBLE: {
        if (this.pos + 8 > this.buf.length) throw new ParquetLiteUnsupported('thrift data ends early');
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case BINARY: {
        const len = this.varint();
        if (this.pos + len > this.buf.length) throw new ParquetLiteUnsupported('thrift data ends early');
        const v = this.buf.subarray(this.pos, this.pos + len);
        this.pos += len;
        return v;
      }
      case LIST:
      case SET: {
        const header = this.byte();
        let size = header >> 4;
        if (size === 15) size = this.varint();
        const elementType = header & 0x0f;
        const out: ThriftValue[] = [];
        for (let i = 0; i < size; i++) out.push(this.readValue(elementType));
        return out;
      }
      case MAP: {
        const size = this.varint();
        if (size === 0) return [];
        const kv = this.byte();
        const out: ThriftValue[] = [];
        for (let i = 0; i < size; i++) out.push([this.readValue(kv >> 4), this.readValue(kv & 0x0f)]);
        return out;
      }
      case STRUCT:
        return this.readStruct();
      default:
        throw new ParquetLiteUnsupported(`unknown thrift type ${type}`);
    }
  }
}
