// Input validated against a zod schema, the same way for every caller (admin API, CLI, domain):
// failures become one `validation_failed` error naming each field.
import type { z } from 'zod';
import { type FieldError, KeygateError } from './errors.ts';

export function toFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((field) => ({ field, message: 'unknown field' }));
    const [first, ...rest] = issue.path;
    const field = `${String(first ?? '(body)')}${rest.map((p) => `[${String(p)}]`).join('')}`;
    return [{ field, message: issue.message }];
  });
}

/** Postgres text cannot hold U+0000: such input is refused up front, naming the field. */
function nulField(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) return value.map((v, i) => nulField(v, `${path}[${i}]`)).find(Boolean);
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const found = key.includes('\u0000') ? key : nulField(v, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return undefined;
}

/** `value` as `schema` says, or a `validation_failed` error ("<what> is invalid") listing every field. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what = 'request body'): T {
  const field = nulField(value, '');
  if (field !== undefined) throw new KeygateError('validation_failed', `${what} is invalid`, [{ field, message: 'must not contain NUL characters' }]);
  const result = schema.safeParse(value);
  if (!result.success) throw new KeygateError('validation_failed', `${what} is invalid`, toFieldErrors(result.error));
  return result.data;
}
