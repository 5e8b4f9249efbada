import { describe, expect, it } from 'vitest';
import { plainReadOptions } from '../../src/cli/commands/read-fast.ts';

// The command line `lakelet read` answers before commander loads: only the plain spellings, with
// the values commander's parsers would give; everything else is left to commander (undefined).
describe('plainReadOptions', () => {
  it('reads the plain spellings as commander would', () => {
    expect(plainReadOptions(['t'])).toEqual({ location: 't', read: { format: 'table' } });
    expect(plainReadOptions(['--format', 'csv', './t', '--limit', '007', '--columns', ' a, ,b ', '--version', '3'])).toEqual({
      location: './t',
      read: { format: 'csv', limit: 7, columns: ['a', 'b'], version: 3 },
    });
  });

  it('leaves everything else to commander', () => {
    for (const args of [
      [],
      ['t', 'u'],
      ['t', '--help'],
      ['t', '--where', 'x > 1'],
      ['t', '--timestamp', '2024-01-01'],
      ['t', '--format=csv'],
      ['t', '--format', 'xml'],
      ['t', '--format'],
      ['t', '--limit', '-1'],
      ['t', '--limit', '1.5'],
      ['t', '--limit', '99999999999999999999'],
      ['t', '--columns', ' , '],
      ['t', '--format', 'csv', '--format', 'ndjson'],
      ['t', '--verbose'],
      [''],
    ]) {
      expect(plainReadOptions(args), args.join(' ')).toBeUndefined();
    }
  });
});
