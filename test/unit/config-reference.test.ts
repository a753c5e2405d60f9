import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, renderConfigReference } from '../../src/config-reference.ts';
import { ENVIRONMENT } from '../../src/config.ts';

describe('README configuration reference', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('is exactly what src/config.ts generates (run `npm run docs:config` after changing it)', () => {
    const region = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END) + END.length);
    expect(region).toBe(renderConfigReference());
  });

  it('lists every variable the schema reads', () => {
    for (const name of Object.keys(ENVIRONMENT)) expect(readme).toContain(`| \`${name}\` |`);
  });
});
