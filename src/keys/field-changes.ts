// What a change did, field by field, for the audit record: each named field whose value differs,
// with its value before and after. Callers name the fields; a field holding a secret, a hash or
// a certificate is never named, so its value never reaches the log.
export type FieldChanges = Record<string, { from: unknown; to: unknown }>;

const comparable = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : (value ?? null));

export function fieldChanges<Row extends object>(before: Row, after: Row, fields: readonly (keyof Row & string)[]): FieldChanges {
  const changes: FieldChanges = {};
  for (const field of fields) {
    const from = comparable(before[field]);
    const to = comparable(after[field]);
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  return changes;
}
