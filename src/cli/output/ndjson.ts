/**
 * Newline-delimited JSON: one object per row, keys in column order. Cells arrive as JSON text
 * (see values.ts) and are spliced in without re-parsing, so big integers never pass through a
 * JS number.
 */
export class NdjsonEncoder {
  private readonly keys: string[];

  constructor(columnNames: string[]) {
    this.keys = columnNames.map((name) => `${JSON.stringify(name)}:`);
  }

  line(cells: readonly (string | null)[]): string {
    let out = '{';
    for (let i = 0; i < this.keys.length; i++) {
      if (i > 0) out += ',';
      out += this.keys[i];
      out += cells[i] ?? 'null';
    }
    return out + '}\n';
  }
}
