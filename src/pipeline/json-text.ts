import { MAX_NESTED_LEVELS } from '../engine/delta/nesting-limit.ts';
import type { TextPosition } from './errors.ts';

/**
 * A strict JSON parser (RFC 8259) that says where a document goes wrong: JSON.parse's messages do
 * not reliably carry a position. Used to validate landed JSON/NDJSON files before loading them.
 */
export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number, readonly position: TextPosition) {
    super(`${message} at line ${position.line}, column ${position.column}`);
    this.name = 'JsonSyntaxError';
  }
}

export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The deepest nesting of arrays and objects a document may have (the document's own level
 * included). DuckDB types every level of a nested value as a type of its own and refuses a column
 * some 200 levels deep ("Max expression depth"), and this parser (like any recursive one) would run
 * out of stack long before a megabyte of `[`: 100 is far beyond real records (BigQuery allows 15).
 */
export const MAX_JSON_DEPTH = 100;

/**
 * The deepest a record may nest: the record object itself, then the levels a column may have
 * (nesting-limit.ts: a deeper column would load and leave its table too slow to read).
 */
export const MAX_RECORD_DEPTH = 1 + MAX_NESTED_LEVELS;

/** How deeply arrays and objects nest in a parsed value (a scalar: 0), walked without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object' || v instanceof JsonInteger) continue;
    if (d + 1 > deepest) deepest = d + 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** A document nested deeper than MAX_JSON_DEPTH: no repair can help, and nothing past it is read. */
export class JsonTooDeepError extends Error {
  constructor(readonly position: TextPosition) {
    super(`nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects; a record may nest at most ${MAX_NESTED_LEVELS} below itself) at line ${position.line}, column ${position.column}`);
    this.name = 'JsonTooDeepError';
  }
}

/**
 * An integer literal beyond what a JS number holds exactly (±2^53), kept as its digits: a landed
 * 123456789012345678901234567890 must reach DuckDB as written, not as 1.2345678901234568e+29.
 */
export class JsonInteger {
  /** How many were made so far: a reader tells from it whether its parse met one (file-reader.ts). */
  static made = 0;
  constructor(readonly text: string) {
    JsonInteger.made++;
  }
}

/** With `exactIntegers`, integers beyond ±2^53 are JsonInteger (write them back with stringifyJson). `stats.deepest`: set to the document's nesting depth. */
export function parseJsonStrict(text: string, options: { exactIntegers?: boolean; stats?: { deepest: number } } = {}): unknown {
  const p = new StrictParser(text, options.exactIntegers ?? false);
  p.ws();
  const value = p.value();
  p.ws();
  if (p.i < text.length) p.fail(`unexpected ${describe(text[p.i])} after the end of the document`);
  if (options.stats) options.stats.deepest = p.deepest;
  return value;
}

class StrictParser {
  i = 0;
  /** Arrays and objects open around the current position, and the most that were. */
  private depth = 0;
  deepest = 0;
  constructor(
    readonly s: string,
    readonly exactIntegers: boolean,
  ) {}

  fail(message: string, at = this.i): never {
    throw new JsonSyntaxError(message, at, positionAt(this.s, at));
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  value(): unknown {
    const s = this.s;
    if (this.i >= s.length) this.fail('unexpected end of input, expected a value');
    const c = s[this.i];
    if (c === '{' || c === '[') {
      if (++this.depth > MAX_JSON_DEPTH) throw new JsonTooDeepError(positionAt(s, this.i));
      if (this.depth > this.deepest) this.deepest = this.depth;
      const nested = c === '{' ? this.object() : this.array();
      this.depth--;
      return nested;
    }
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    if (c === "'") this.fail('single-quoted string (JSON needs double quotes)');
    const ident = /^[A-Za-z_]\w*/.exec(s.slice(this.i, this.i + 32));
    if (ident) this.fail(`unknown literal '${ident[0]}' (JSON has true, false and null)`);
    return this.fail(`unexpected ${describe(c)}, expected a value`);
  }

  object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') {
        if (this.s[this.i] === '}') this.fail('trailing comma before }');
        if (this.s[this.i] === "'") this.fail('single-quoted key (JSON needs double quotes)');
        this.fail(`unexpected ${describe(this.s[this.i])}, expected a double-quoted key`);
      }
      const keyAt = this.i;
      const key = this.string();
      // JSON.parse keeps the last of two values for one key, silently dropping the other: which one
      // the writer meant is unknowable, so the record is bad (BigQuery refuses such rows too).
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`the key ${JSON.stringify(key)} appears twice in one object: which value is meant is ambiguous`, keyAt);
      this.ws();
      if (this.s[this.i] !== ':') this.fail(`unexpected ${describe(this.s[this.i])}, expected ':' after a key`);
      this.i++;
      this.ws();
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return out;
      }
      this.fail(`unexpected ${describe(c)}, expected ',' or '}'`);
    }
  }

  array(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] === ']') this.fail('trailing comma before ]');
      out.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail(`unexpected ${describe(c)}, expected ',' or ']'`);
    }
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string', start);
      const c = s[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\') {
        const e = s[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(this.i + 2, this.i + 6))) {
          const code = parseInt(s.slice(this.i + 2, this.i + 6), 16);
          // Half of a surrogate pair is no character: JSON.parse would keep it, and the load would
          // then fail on it without naming the record. A high half must be followed by a low one.
          const low = /^\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(s.slice(this.i + 6, this.i + 12));
          if ((code >= 0xd800 && code <= 0xdbff && !low) || (code >= 0xdc00 && code <= 0xdfff)) {
            this.fail(`\\u${s.slice(this.i + 2, this.i + 6)} is half of a UTF-16 surrogate pair without its other half: not a character`);
          }
          out += code >= 0xd800 && code <= 0xdbff ? String.fromCharCode(code, parseInt(s.slice(this.i + 8, this.i + 12), 16)) : String.fromCharCode(code);
          this.i += code >= 0xd800 && code <= 0xdbff ? 12 : 6;
        } else {
          this.fail(`invalid escape \\${e ?? ''}`);
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.fail('control character inside a string (escape it, e.g. \\n)');
      out += c;
      this.i++;
    }
  }

  number(): number | JsonInteger {
    // Up to 400 characters of it: a longer integer literal is read whole (the rest is digits).
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail('invalid number');
    let literal = m[0];
    if (this.exactIntegers && m[2] === undefined && m[3] === undefined) {
      const rest = /^\d*/.exec(this.s.slice(this.i + literal.length))![0];
      literal += rest;
      this.i += literal.length;
      const n = Number(literal);
      return Number.isSafeInteger(n) ? n : new JsonInteger(literal);
    }
    const n = Number(literal);
    // 1e400 would be Infinity, which JSON cannot hold: stored, it became null without a word.
    if (!Number.isFinite(n)) this.fail(`number ${literal} is beyond a double's range (about ±1.8e308); write it as a string to keep it`);
    this.i += literal.length;
    return n;
  }
}

function describe(c: string | undefined): string {
  if (c === undefined) return 'end of input';
  return `character ${JSON.stringify(c)}`;
}

/**
 * JSON text of a parsed value, as JSON.stringify writes it, with each JsonInteger as its digits.
 * Used only for documents that hold one (JSON.stringify is faster for the others).
 */
export function stringifyJson(value: unknown): string {
  if (value instanceof JsonInteger) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stringifyJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${stringifyJson(v)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}
