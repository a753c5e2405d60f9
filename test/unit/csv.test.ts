// CSV cells: RFC 4180 quoting, and formulas a spreadsheet would run turned into text.
import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../../src/shared/csv.ts';
import { parseCsv } from '../support/csv.ts';

describe('csv', () => {
  it('quotes commas, quotes and line breaks, and leaves plain text alone', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(42)).toBe('42');
    expect(csvLine(['a', null, 'b,c'])).toBe('a,,"b,c"\r\n');
  });

  it('prefixes a cell that starts like a formula with an apostrophe', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}1+1`).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvCell('a=b')).toBe('a=b');
  });

  it('reads back what it wrote', () => {
    const values = ['x', 'a, "b"\r\nc', '', '=1', 'plain'];
    expect(parseCsv(csvLine(values) + csvLine(['1']))).toEqual([['x', 'a, "b"\r\nc', '', "'=1", 'plain'], ['1']]);
  });
});
