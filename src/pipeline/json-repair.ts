import { JsonInteger, JsonSyntaxError, parseJsonStrict, positionAt } from './json-text.ts';

/**
 * Repairs Python-flavoured pseudo-JSON (seed 001's etl.json): single-quoted strings and keys,
 * `True`/`False`/`None`, trailing commas, and string values that are themselves a JSON array or
 * object (`'["1698915678000","63969095"]'` becomes the array). It tokenizes the text — strings are
 * read as whole tokens, so quotes and words inside them are never touched — then writes the tokens
 * back as strict JSON and parses that. Anything else that is wrong stays an error.
 */
export interface RepairResult {
  value: unknown;
  /** What was changed, for the ingestion log. */
  fixes: string[];
}

type Token =
  | { kind: 'punct'; text: '{' | '}' | '[' | ']' | ':' | ','; at: number }
  | { kind: 'string'; value: string; quote: '"' | "'"; at: number }
  | { kind: 'literal'; text: string; at: number }
  | { kind: 'number'; text: string; at: number };

/** `exactIntegers` as parseJsonStrict's: integers beyond ±2^53 are kept as their digits. */
export function repairJson(text: string, options: { exactIntegers?: boolean } = {}): RepairResult {
  const fixes = new Set<string>();
  const tokens = tokenize(text, fixes);
  const out: string[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind === 'punct') {
      if (t.text === ',') {
        const next = tokens[k + 1];
        if (next && next.kind === 'punct' && (next.text === '}' || next.text === ']')) {
          fixes.add('removed trailing commas');
          continue;
        }
      }
      out.push(t.text);
    } else if (t.kind === 'string') {
      if (t.quote === "'") fixes.add('single quotes → double quotes');
      out.push(JSON.stringify(t.value));
    } else if (t.kind === 'number') {
      out.push(t.text);
    } else {
      const mapped = LITERALS[t.text];
      if (mapped === undefined) {
        throw new JsonSyntaxError(`unknown literal '${t.text}'`, t.at, positionAt(text, t.at));
      }
      if (mapped !== t.text) fixes.add(`Python literals (True/False/None) → JSON`);
      out.push(mapped);
    }
  }
  let value: unknown;
  try {
    value = parseJsonStrict(out.join(' '), options);
  } catch (err) {
    // Report the position in the original text: map through the token that failed.
    if (err instanceof JsonSyntaxError) {
      const index = tokenIndexAt(out, err.offset);
      const at = tokens[Math.min(index, tokens.length - 1)]?.at ?? text.length;
      throw new JsonSyntaxError(err.message.replace(/ at line \d+, column \d+$/, ''), at, positionAt(text, at));
    }
    throw err;
  }
  value = unstringify(value, fixes, options);
  return { value, fixes: [...fixes] };
}

const LITERALS: Record<string, string> = { true: 'true', false: 'false', null: 'null', True: 'true', False: 'false', None: 'null' };

function tokenize(text: string, fixes: Set<string>): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  // A UTF-8 byte-order mark is not JSON, but harmless.
  if (text.charCodeAt(0) === 0xfeff) {
    i = 1;
    fixes.add('removed byte-order mark');
  }
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if ('{}[]:,'.includes(c)) {
      tokens.push({ kind: 'punct', text: c as '{', at: i });
      i++;
    } else if (c === '"' || c === "'") {
      const start = i;
      const { value, end } = readQuoted(text, i, c);
      tokens.push({ kind: 'string', value, quote: c, at: start });
      i = end;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) throw new JsonSyntaxError('invalid number', i, positionAt(text, i));
      tokens.push({ kind: 'number', text: m[0], at: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_]\w*/.exec(text.slice(i, i + 64))!;
      tokens.push({ kind: 'literal', text: m[0], at: i });
      i += m[0].length;
    } else {
      throw new JsonSyntaxError(`unexpected character ${JSON.stringify(c)}`, i, positionAt(text, i));
    }
  }
  return tokens;
}

/** Reads a string token in either quote style, with JSON and Python escapes. */
function readQuoted(text: string, start: number, quote: string): { value: string; end: number } {
  let i = start + 1;
  let out = '';
  const simple: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  while (i < text.length) {
    const c = text[i];
    if (c === quote) return { value: out, end: i + 1 };
    if (c === '\\') {
      const e = text[i + 1];
      if (e !== undefined && e in simple) {
        out += simple[e];
        i += 2;
        continue;
      }
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      throw new JsonSyntaxError(`invalid escape \\${e ?? ''}`, i, positionAt(text, i));
    }
    if (c === '\n') throw new JsonSyntaxError('unterminated string', start, positionAt(text, start));
    out += c;
    i++;
  }
  throw new JsonSyntaxError('unterminated string', start, positionAt(text, start));
}

/** String values holding a JSON array or object become that array or object. */
function unstringify(value: unknown, fixes: Set<string>, options: { exactIntegers?: boolean }): unknown {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if ((trimmed.startsWith('[') && trimmed.endsWith(']')) || (trimmed.startsWith('{') && trimmed.endsWith('}'))) {
      try {
        const inner = parseJsonStrict(trimmed, options);
        fixes.add('stringified JSON arrays/objects → values');
        return inner;
      } catch {
        return value;
      }
    }
    return value;
  }
  if (value instanceof JsonInteger) return value;
  if (Array.isArray(value)) return value.map((v) => unstringify(v, fixes, options));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unstringify(v, fixes, options);
    return out;
  }
  return value;
}

/** Which output token the offset of the re-joined text falls in (tokens joined by one space). */
function tokenIndexAt(parts: string[], offset: number): number {
  let pos = 0;
  for (let k = 0; k < parts.length; k++) {
    pos += parts[k].length + 1;
    if (offset < pos) return k;
  }
  return parts.length;
}
