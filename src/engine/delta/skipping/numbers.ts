/**
 * Numbers as intervals of doubles: a value from stats, a partition value or a literal, widened to
 * the neighbouring doubles wherever the double nearest to it may not be exact (decimal text,
 * integers beyond 2^53, FLOAT columns compared in single precision), so imprecision always errs
 * towards keeping a file.
 */

/** A value known only to lie in [lo, hi] (lo = hi when exact). */
export interface Interval<T> {
  lo: T;
  hi: T;
}

/** The next double towards +∞ / -∞. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Whether the double x is exactly the decimal number written in `text` (digits, optional point). */
function isExactDouble(x: number, text: string): boolean {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || !Number.isFinite(x)) return false;
  const frac = m[3] ?? '';
  const digits = BigInt(`${m[1]}${m[2] || '0'}${frac}`); // text = digits / 10^frac.length
  // x = mantissa · 2^exponent, exactly.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const rawExp = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let exponent: number;
  if (rawExp === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = rawExp - 1075;
  }
  const scaled = sign * mantissa * 10n ** BigInt(frac.length);
  return exponent >= 0 ? scaled * 2n ** BigInt(exponent) === digits : scaled === digits * 2n ** BigInt(-exponent);
}

/**
 * A number given as decimal text (or a JSON number that came from decimal text): exact when the
 * text is exactly a double (1.5, 2^60, …), otherwise the neighbouring doubles around the nearest one.
 */
export function decimalTextInterval(text: string): Interval<number> | undefined {
  const t = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const x = Number(t);
  if (!Number.isFinite(x)) return undefined;
  if (!/[eE]/.test(t) && isExactDouble(x, t)) return { lo: x, hi: x };
  return { lo: nextDown(x), hi: nextUp(x) };
}

/** Widens a numeric interval for how DuckDB compares a column of Delta type `t` with it. */
export function adjustForColumn(v: Interval<number>, t: string): Interval<number> {
  if (t === 'float') {
    // DuckDB may compare a FLOAT column in single precision (0.1::FLOAT = 0.1 is true).
    return { lo: Math.min(v.lo, Math.fround(v.lo)), hi: Math.max(v.hi, Math.fround(v.hi)) };
  }
  return v;
}

/** A value read from stats / partition values (JSON number or string) for a numeric column. */
export function numericValue(raw: unknown, t: string): Interval<number> | undefined {
  let iv: Interval<number> | undefined;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return undefined;
    if (t === 'double') iv = { lo: raw, hi: raw };
    else if (t === 'float') iv = { lo: Math.min(raw, Math.fround(raw)), hi: Math.max(raw, Math.fround(raw)) };
    else if (Number.isSafeInteger(raw)) iv = { lo: raw, hi: raw };
    else iv = { lo: nextDown(raw), hi: nextUp(raw) };
  } else if (typeof raw === 'string') {
    const s = raw.trim();
    if (/^[+-]?(inf|infinity)$/i.test(s)) {
      const x = s.startsWith('-') ? -Infinity : Infinity;
      return { lo: x, hi: x };
    }
    iv = decimalTextInterval(s);
    if (iv && t === 'double' && !/[eE]/.test(s) && iv.lo !== iv.hi) {
      // A double's text is its shortest round-trip form: exact.
      const x = Number(s);
      iv = { lo: x, hi: x };
    }
    if (iv && t === 'float') {
      const x = Number(s);
      iv = { lo: Math.min(iv.lo, Math.fround(x)), hi: Math.max(iv.hi, Math.fround(x)) };
    }
  }
  return iv;
}
