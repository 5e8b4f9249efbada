// The direct read writes its output with write(2) on fd 1 (cli/output/write-stdout.ts). A parent
// may hand over a non-blocking pipe (one Node made non-blocking for its own stdout is shared with
// its children): once the reader is behind, write(2) fails with EAGAIN and the rest must still
// arrive, whole and in order. Python makes such a pipe (Node cannot), with a 4 KB buffer and a
// reader that starts late, so the 50 KB of csv cannot be written in one go.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAKELET_BIN, lakeletOk } from '../support/cli.ts';
import { runProcess } from '../support/process.ts';
import { tempDir } from '../support/temp.ts';

const work = tempDir('lakelet-read-stdout-');
afterAll(() => work.cleanup());

const NON_BLOCKING_READ = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
os.set_blocking(w, False)
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: a 4 KB pipe
child = subprocess.Popen(sys.argv[1:], stdout=w, env=dict(os.environ, LAKELET_TRACE_READ='1'))
os.close(w)
time.sleep(0.5)
out = b''
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(child.wait())
`;

describe('lakelet read into a non-blocking pipe', () => {
  it('prints every byte, as into a blocking one', async () => {
    const csv = join(work.dir, 'rows.csv');
    const lines = ['id,name'];
    for (let i = 0; i < 2000; i++) lines.push(`${i},name-${i}-${'x'.repeat(i % 20)}`);
    writeFileSync(csv, lines.join('\n') + '\n');
    const table = join(work.dir, 't');
    await lakeletOk(['write', table, '--from', csv]);
    const expected = (await lakeletOk(['read', table, '--format', 'csv'])).stdout;
    expect(expected.length).toBeGreaterThan(40_000);

    const script = join(work.dir, 'non-blocking-read.py');
    writeFileSync(script, NON_BLOCKING_READ);
    const run = await runProcess('python3', [script, process.execPath, LAKELET_BIN, 'read', table, '--format', 'csv']);
    expect(run.stderr).toMatch(/^lakelet: read: direct/);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(expected);
  });
});
