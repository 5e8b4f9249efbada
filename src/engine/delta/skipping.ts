/**
 * Data skipping: deciding from `add.partitionValues` and `add.stats` alone that a file holds no row
 * matching a user predicate (`--where "a > 5 AND part = 'x'"`). The predicate is parsed and its
 * constants evaluated by DuckDB (skipping/compile.ts); files are then judged without reading them
 * (skipping/evaluate.ts). This module is the public face; skipping/ holds one concept per file:
 * the predicate tree, lossless JSON, the parse tree, constants, compile, numbers, bounds, facts
 * and evaluate.
 */
export type { CompareOp, Literal, Predicate } from './skipping/predicate.ts';
export { predicateColumns } from './skipping/predicate.ts';
export { compilePredicate } from './skipping/compile.ts';
export { compareUtf8 } from './skipping/bounds.ts';
export type { SkippingFile } from './skipping/facts.ts';
export { canSkipFile } from './skipping/evaluate.ts';
