import { plainText } from './values.ts';

/**
 * CSV (RFC 4180 quoting): a field is quoted when it holds a comma, a double quote, CR or LF, and
 * quotes inside are doubled. NULL is an empty field; an empty string is `""`, so the two stay
 * distinguishable. Records end with LF. Nested values are their JSON text.
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '') return '""';
  if (/[",\r\n]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

export function csvRecord(fields: readonly (string | null)[]): string {
  return fields.map(csvField).join(',') + '\n';
}

export class CsvEncoder {
  constructor(private readonly columnNames: string[]) {}

  header(): string {
    return csvRecord(this.columnNames);
  }

  /** A record from JSON-text cells. */
  line(cells: readonly (string | null)[]): string {
    return csvRecord(cells.map(plainText));
  }
}
