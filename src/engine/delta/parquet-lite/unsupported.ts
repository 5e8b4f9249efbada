/**
 * Thrown by the Parquet-lite reader for anything it does not decode (a codec, an encoding, a type,
 * a schema shape) or cannot make sense of (a truncated or damaged file). Never shown to a user: the
 * checkpoint reader catches it and reads the file through DuckDB instead, which either reads it or
 * reports the damage with the usual typed error.
 */
export class ParquetLiteUnsupported extends Error {
  constructor(message: string) {
    super(`parquet-lite: ${message}`);
    this.name = 'ParquetLiteUnsupported';
  }
}
