/**
 * The field delimiter of a CSV file whose pipeline sets none (README: "csv: anything left out is
 * detected"), from its first few KB: the candidate that splits the header into more than one field
 * and every sampled record into as many. A comma that does so is kept (what an undetected pipeline
 * always read); otherwise the candidate most records agree with, when at least half do.
 *
 * Cheap on purpose (the pipeline reads many small files): one pass over at most SAMPLE characters
 * of the text already decoded, no DuckDB sniffing.
 */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

const SAMPLE = 8 * 1024;
const RECORDS = 20;

export function detectDelimiter(text: string, quote: string | undefined = '"', escape?: string): string {
  const end = Math.min(text.length, SAMPLE);
  const q = quote ? quote.charCodeAt(0) : -1;
  // An escape other than the quote (e.g. a backslash) hides the character after it inside a
  // quoted field: an escaped quote must not end the field. (A doubled quote needs no such rule.)
  const e = escape && escape !== quote ? escape.charCodeAt(0) : -1;
  const records: number[][] = [];
  let counts = [0, 0, 0, 0];
  let inQuote = false;
  let blank = true;
  let i = 0;
  for (; i < end && records.length < RECORDS; i++) {
    const c = text.charCodeAt(i);
    if (inQuote && c === e) {
      i++;
    } else if (c === q) {
      // A doubled quote inside a quoted field toggles twice: still inside.
      inQuote = !inQuote;
      blank = false;
    } else if (inQuote) {
      continue;
    } else if (c === 10) {
      if (!blank) records.push(counts);
      counts = [0, 0, 0, 0];
      blank = true;
    } else if (c !== 13) {
      blank = false;
      if (c === 44) counts[0]++;
      else if (c === 59) counts[1]++;
      else if (c === 9) counts[2]++;
      else if (c === 124) counts[3]++;
    }
  }
  // The last record counts only when the text ends with it (not cut off by the sample).
  if (!blank && i === text.length && records.length < RECORDS) records.push(counts);
  if (records.length === 0) return ',';
  let best = ',';
  let bestScore = 0;
  for (let d = 0; d < DELIMITERS.length; d++) {
    const header = records[0][d];
    if (header === 0) continue;
    const agree = records.filter((r) => r[d] === header).length / records.length;
    if (agree === 1 && d === 0) return ',';
    if (agree > bestScore) {
      best = DELIMITERS[d];
      bestScore = agree;
    }
  }
  return bestScore >= 0.5 ? best : ',';
}
