/**
 * Aligned text tables for a terminal: a header, a rule, and one line per row; wide cells are cut
 * with an ellipsis, control characters are shown escaped so a row stays on one line.
 */
export interface TableLayout {
  /** Right-align these columns (numbers). */
  rightAlign?: readonly boolean[];
  /** Widest a cell may be, in characters. Default 40. */
  maxCellWidth?: number;
  /** Shown for a NULL cell. Default "NULL". */
  nullText?: string;
}

export function formatTable(headers: readonly string[], rows: readonly (readonly (string | null)[])[], layout: TableLayout = {}): string {
  const maxWidth = layout.maxCellWidth ?? 40;
  const nullText = layout.nullText ?? 'NULL';
  const head = headers.map((h) => truncate(oneLine(h), maxWidth));
  const body = rows.map((row) => headers.map((_, i) => truncate(row[i] === null || row[i] === undefined ? nullText : oneLine(row[i] as string), maxWidth)));
  const widths = head.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i]))));
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(widths[i] - width(text));
    return layout.rightAlign?.[i] ? fill + text : text + fill;
  };
  const lines = [
    head.map((h, i) => pad(h, i)).join('  ').trimEnd(),
    widths.map((w) => '─'.repeat(w)).join('  ').trimEnd(),
    ...body.map((r) => r.map((c, i) => pad(c, i)).join('  ').trimEnd()),
  ];
  return lines.join('\n') + '\n';
}

/** "key  value" lines with the keys padded to one width. */
export function formatKeyValues(pairs: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${k}${' '.repeat(keyWidth - width(k))}  ${v}`.trimEnd()).join('\n') + '\n';
}

/** At most `max` characters, the last one an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** 1536 → "1.5 KiB". */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** "1 file", "3 files". */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

function oneLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\\n').replace(/\t/g, '\\t').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function width(text: string): number {
  return [...text].length;
}

/**
 * The line under `lakelet read`'s table: how many rows were left out of `total`, or that there
 * were none. Both read paths print it, so it is written once.
 */
export function readTableFooter(limit: number, total: number): string {
  if (total > limit) return `… ${plural(total - limit, 'more row')} (showing ${limit} of ${total}; use --limit to see more)\n`;
  return total === 0 ? '(no rows)\n' : '';
}
