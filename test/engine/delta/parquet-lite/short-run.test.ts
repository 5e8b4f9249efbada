// withoutOptimizer turns V8's optimising compiler off for a short synchronous decode and back on
// after. Checked in a child Node with --allow-natives-syntax, which can ask V8 whether a function
// was optimised: hot code is not optimised inside, and is again after (nested calls included).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO, runProcess } from '../../../support/process.ts';

const SCRIPT = `
import { withoutOptimizer } from ${JSON.stringify(join(REPO, 'src/engine/delta/parquet-lite/short-run.ts'))};
const optimized = (f) => (%GetOptimizationStatus(f) & 16) !== 0;
const make = () => (x) => { let s = 0; for (let i = 0; i < x; i++) s += i * 3; return s; };
const heat = (f) => { for (let i = 0; i < 30000; i++) f(50); };
const inside = make(), nested = make(), after = make();
withoutOptimizer(() => withoutOptimizer(() => heat(nested)) || heat(inside));
heat(after);
console.log(JSON.stringify({ inside: optimized(inside), nested: optimized(nested), after: optimized(after) }));
`;

describe('withoutOptimizer', () => {
  it('keeps hot code unoptimised inside, nested too, and optimises again after', async () => {
    const run = await runProcess(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', SCRIPT]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ inside: false, nested: false, after: true });
  });
});
