/**
 * Deterministic pseudo-random values as DuckDB SQL expressions. Every value is a pure function of
 * (seed, salt, inputs) through DuckDB's `hash()`, so a generated row never depends on thread
 * scheduling or on which other rows are generated with it: the same seed gives the same rows on
 * every run, in any file split.
 */

/** 2^53: a 53-bit integer divided by it is a double in [0, 1). */
const TWO_POW_53 = '9007199254740992.0';

/** Seeds are whole numbers (any sign): they select the random streams. */
export function assertSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a whole number, got ${seed}.`);
}

/** A salt names one random stream (e.g. 'credit'), so columns never share a hash. */
function checkSalt(salt: string): void {
  if (!/^[a-z0-9_-]+$/i.test(salt)) throw new RangeError(`salt '${salt}' must be letters, digits, _ or -.`);
}

/**
 * A UBIGINT hash of the inputs (SQL expressions of non-negative whole numbers) in the stream
 * (seed, salt). DuckDB's `hash(a, b, …)` combines its arguments' hashes with XOR after a
 * multiplication, so two streams that differ only in a constant argument are strongly correlated
 * (r ≈ 0.9 for hash(id, 'a') vs hash(id, 'b')). Instead, each stream starts from its own 64-bit
 * constant (SplitMix64 of seed and salt, computed here) and chains DuckDB's one-argument integer
 * hash (a MurmurHash64 finaliser): h = hash(in0 XOR c), then h = hash(h XOR in_k).
 */
export function hashSql(seed: number, salt: string, ...inputs: string[]): string {
  assertSeed(seed);
  checkSalt(salt);
  if (inputs.length === 0) throw new RangeError('hashSql needs at least one input.');
  const c = streamConstant(seed, salt);
  let h = `hash(xor(CAST(${inputs[0]} AS UBIGINT), CAST(${c} AS UBIGINT)))`;
  for (const input of inputs.slice(1)) h = `hash(xor(${h}, CAST(${input} AS UBIGINT)))`;
  return h;
}

/** The 64-bit start of the stream (seed, salt), as a decimal string. */
export function streamConstant(seed: number, salt: string): string {
  let h = BigInt.asUintN(64, BigInt(seed) ^ 0x9e3779b97f4a7c15n);
  for (const ch of salt) h = mix64(BigInt.asUintN(64, h ^ BigInt(ch.codePointAt(0)!)));
  return mix64(h).toString();
}

/** SplitMix64's finaliser. */
function mix64(x: bigint): bigint {
  let z = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return z ^ (z >> 31n);
}

/** A uniform double in [0, 1). */
export function uniformSql(seed: number, salt: string, ...inputs: string[]): string {
  return `(CAST(${hashSql(seed, salt, ...inputs)} >> 11 AS DOUBLE) / ${TWO_POW_53})`;
}

/** A uniform integer in [lo, hi] (inclusive). */
export function intBetweenSql(lo: number, hi: number, seed: number, salt: string, ...inputs: string[]): string {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) throw new RangeError(`bad integer range [${lo}, ${hi}].`);
  const span = hi - lo + 1;
  return `(${lo} + CAST(${hashSql(seed, salt, ...inputs)} % ${span} AS BIGINT))`;
}

/** An exponential variate with mean 1: -ln(1 - U), U in [0, 1), so never ln(0). */
export function exponentialSql(seed: number, salt: string, ...inputs: string[]): string {
  return `(-ln(1.0 - ${uniformSql(seed, salt, ...inputs)}))`;
}

/** Greatest common divisor of two non-negative safe integers. */
export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * A cheap deterministic permutation of [0, n): `pos → (a·pos + c) mod n`, with `a` coprime to n
 * and near n/φ (so neighbouring positions land far apart). It shuffles billions of rows without a
 * sort: each row's place is computed on its own. The multiplier and offset come from the seed.
 */
export function affinePermutation(n: number, seed: number, salt: string): { a: number; c: number; sql: (pos: string) => string } {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`permutation size must be a positive whole number, got ${n}.`);
  const mix = splitMix(seed, salt);
  const golden = 0.6180339887498949;
  let a = Math.max(1, Math.floor(n * (golden - 0.05 + 0.1 * mix[0]))) % n;
  if (a === 0) a = 1;
  while (gcd(a, n) !== 1) a = (a + 1) % n || 1;
  const c = Math.floor(mix[1] * n) % n;
  // a·pos stays below 2^63 for n up to ~3·10^9; HUGEINT keeps larger sizes exact too.
  const sql = (pos: string) => `CAST((CAST(${pos} AS HUGEINT) * ${a} + ${c}) % ${n} AS BIGINT)`;
  return { a, c, sql };
}

/** Two doubles in [0, 1) from a seed and a salt, computed in JS (for plan-time constants). */
export function splitMix(seed: number, salt: string): [number, number] {
  const a = BigInt(streamConstant(seed, salt));
  const b = mix64(a);
  return [Number(a >> 11n) / 2 ** 53, Number(b >> 11n) / 2 ** 53];
}
