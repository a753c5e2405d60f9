// CSV as RFC 4180 writes it, made safe to open in a spreadsheet: a cell a spreadsheet would read
// as a formula (it begins with = + - @, a tab or a carriage return) gets a leading apostrophe, so
// text someone else chose (a key name, a reason) is shown as text and never evaluated.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: null and undefined are empty; everything else is its text, defused and quoted as needed. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, ended by CRLF. */
export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
