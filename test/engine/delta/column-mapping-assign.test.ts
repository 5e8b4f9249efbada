import { describe, expect, it } from 'vitest';
import type { Metadata } from '../../../src/engine/delta/actions.ts';
import { assignColumnMapping, withColumnMapping } from '../../../src/engine/delta/column-mapping-assign.ts';
import type { StructField, StructType } from '../../../src/engine/delta/schema.ts';

// The rules of PROTOCOL.md "Column Mapping" that a schema change must keep: ids are unique and
// above delta.columnMapping.maxColumnId, which only grows; an id or physical name once given never
// changes; existing fields without a physical name are named after themselves (their files were).
const f = (name: string, type: StructField['type'] = 'long', metadata: Record<string, unknown> = {}): StructField => ({ name, type, nullable: true, metadata });
const schema = (...fields: StructField[]): StructType => ({ type: 'struct', fields });
const meta = (s: StructType, configuration: Record<string, string>): Metadata => ({
  id: 't',
  format: { provider: 'parquet', options: {} },
  schemaString: JSON.stringify(s),
  partitionColumns: [],
  configuration,
});
let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

describe('column mapping assignment', () => {
  it('new ids count up from maxColumnId (ids of dropped columns are never reused), annotated fields keep theirs', () => {
    const mapped = { 'delta.columnMapping.id': 3, 'delta.columnMapping.physicalName': 'col-old' };
    const out = assignColumnMapping(schema(f('a', 'long', mapped), f('b')), { 'delta.columnMapping.mode': 'name', 'delta.columnMapping.maxColumnId': '7' }, () => 'col-new');
    expect(out.schema.fields.map((x) => x.metadata)).toEqual([mapped, { 'delta.columnMapping.id': 8, 'delta.columnMapping.physicalName': 'col-new' }]);
    expect(out.configuration['delta.columnMapping.maxColumnId']).toBe('8');
    expect(out.changed).toBe(true);
  });

  it('a maxColumnId below the ids in the schema is raised to the largest id', () => {
    const out = assignColumnMapping(schema(f('a', 'long', { 'delta.columnMapping.id': 5, 'delta.columnMapping.physicalName': 'p' })), {}, () => 'x');
    expect(out.configuration['delta.columnMapping.maxColumnId']).toBe('5');
  });

  it('withColumnMapping leaves a table without mapping alone', () => {
    const s = schema(f('a'));
    expect(withColumnMapping(undefined, s, { 'delta.columnMapping.mode': 'none' }, uuid)).toEqual({ schema: s, configuration: { 'delta.columnMapping.mode': 'none' }, changed: false });
  });

  it('evolution names fields the table already had after themselves, new ones (nested too) col-<uuid>', () => {
    const before = schema(f('a'), f('s', schema(f('x'))));
    const after = schema(f('a'), f('s', schema(f('x'))), f('n', { type: 'array', elementType: schema(f('y')), containsNull: true }));
    const out = withColumnMapping(meta(before, {}), after, { 'delta.columnMapping.mode': 'name' }, uuid);
    const names = (t: StructType): unknown[] => t.fields.map((x) => [x.name, x.metadata['delta.columnMapping.id'], x.metadata['delta.columnMapping.physicalName']]);
    expect(names(out.schema)).toEqual([
      ['a', 1, 'a'],
      ['s', 2, 's'],
      ['n', 4, expect.stringMatching(/^col-00000000-0000-4000-8000-\d{12}$/)],
    ]);
    expect(names(out.schema.fields[1].type as StructType)).toEqual([['x', 3, 'x']]);
    const element = (out.schema.fields[2].type as { elementType: StructType }).elementType;
    expect(names(element)).toEqual([['y', 5, expect.stringMatching(/^col-/)]]);
    expect(out.configuration['delta.columnMapping.maxColumnId']).toBe('5');
  });
});
