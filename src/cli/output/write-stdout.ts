import { writeSync } from 'node:fs';
import { isBrokenPipe } from '../errors.ts';

/**
 * Writes the whole of `text` to standard output with write(2) on fd 1, without making
 * process.stdout: for a pipe that stream loads Node's net and stream modules, ~3 ms of a plain
 * `lakelet read` whose budget is ~100 ms (issue 13). The fd is blocking as a parent normally
 * hands it over; where it was made non-blocking (a parent sharing its own Node stdout) and the
 * reader is behind (EAGAIN), the rest goes through process.stdout, which waits for the reader.
 * A reader that went away (EPIPE: `| head`) ends the write quietly, as the SQL path has it.
 */
export async function writeStdout(text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(1, bytes, done, bytes.length - done);
    return;
  } catch (err) {
    if (isBrokenPipe(err)) return;
    if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
  }
  process.stdout.on('error', (err) => {
    if (!isBrokenPipe(err)) throw err;
  });
  await new Promise<void>((resolve, reject) => {
    process.stdout.write(bytes.subarray(done), (err) => (err && !isBrokenPipe(err) ? reject(err) : resolve()));
  });
}
