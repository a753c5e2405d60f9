import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLayers, formatViolation } from '../../scripts/check-layers.ts';

const roots: string[] = [];

/** A fixture project: { 'src/stores/a.ts': '…' } written under a fresh temp dir. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'keygate-layers-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

const messages = (root: string) => checkLayers(root).map(formatViolation);

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('checkLayers', () => {
  it('passes a tree whose every import goes down the layers', () => {
    const root = tree({
      'src/shared/text.ts': 'export const upper = (s: string) => s.toUpperCase();\n',
      'src/logger.ts': "import { upper } from './shared/text.ts';\nexport const log = () => upper('x');\n",
      'src/crypto/hash.ts': "import { upper } from '../shared/text.ts';\nexport const hash = upper;\n",
      'src/stores/audit.ts': "import { hash } from '../crypto/hash.ts';\nimport { log } from '../logger.ts';\nexport const audit = () => [hash, log];\n",
      'src/keys/model.ts': "import type { User } from '../identity/users.ts';\nexport type Key = { owner: User };\n",
      'src/identity/users.ts': "import { audit } from '../stores/audit.ts';\nexport type User = { id: string };\nexport const users = audit;\n",
      'src/http/errors.ts': "export * from '../shared/text.ts';\nexport class ApiError extends Error {}\n",
      'src/oauth/token.ts':
        "import { ApiError } from '../http/errors.ts';\nimport type { Key } from '../keys/model.ts';\nexport const fail = (k: Key) => new ApiError(String(k));\n",
      'src/admin/router.ts': "import { fail } from '../oauth/token.ts';\nexport const route = fail;\n",
      'src/embedded/pepper.ts': "import { upper } from '../shared/text.ts';\nexport const pepper = upper;\n",
      'src/cli/main.ts': "import { route } from '../admin/router.ts';\nexport const main = route;\n",
      'src/app.ts': "export const load = () => import('./embedded/pepper.ts');\nexport { main } from './cli/main.ts';\n",
      // An import named in a comment or a string is no import.
      'src/stores/notes.ts': "// import { x } from '../http/errors.ts';\nexport const text = \"import('../admin/router.ts')\";\n",
    });
    expect(messages(root)).toEqual([]);
  });

  it('fails a store that imports from http, naming both files and both layers', () => {
    const root = tree({
      'src/http/x.ts': 'export const x = 1;\n',
      'src/stores/audit.ts': "// the audit store\nimport { x } from '../http/x.ts';\nexport const audit = x;\n",
    });
    expect(messages(root)).toEqual(['src/stores/audit.ts:2 imports src/http/x.ts (layer stores may not import layer http)']);
  });

  it('counts type-only imports, `export … from` and dynamic imports', () => {
    const root = tree({
      'src/http/x.ts': 'export type X = number;\nexport const x = 1;\n',
      'src/crypto/a.ts': "import type { X } from '../http/x.ts';\nexport type A = X;\n",
      'src/crypto/b.ts': "export { x } from '../http/x.ts';\n",
      'src/crypto/c.ts': "export async function c() {\n  return (await import('../http/x.ts')).x;\n}\n",
    });
    expect(messages(root)).toEqual([
      'src/crypto/a.ts:1 imports src/http/x.ts (layer crypto may not import layer http)',
      'src/crypto/b.ts:1 imports src/http/x.ts (layer crypto may not import layer http)',
      'src/crypto/c.ts:2 imports src/http/x.ts (layer crypto may not import layer http)',
    ]);
  });

  it('treats logger.ts as shared, the other root files as free, and no layer may import them', () => {
    const root = tree({
      'src/stores/redis.ts': "import { config } from '../config.ts';\nexport const url = config;\n",
      'src/config.ts': "import { url } from './stores/redis.ts';\nexport const config = 1;\nexport const u = url;\n",
      'src/logger.ts': "import { url } from './stores/redis.ts';\nexport const log = url;\n",
    });
    expect(messages(root)).toEqual([
      'src/logger.ts:1 imports src/stores/redis.ts (layer shared may not import layer stores)',
      'src/stores/redis.ts:1 imports src/config.ts (layer stores may not import layer root)',
      'import cycle: src/config.ts:1 -> src/stores/redis.ts:1 -> src/config.ts',
    ]);
  });

  it('fails an import cycle a -> b -> a and prints it', () => {
    const root = tree({
      'src/keys/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'src/keys/b.ts': "export const b = 1;\nimport { a } from './a.ts';\nexport const c = a;\n",
    });
    const violations = checkLayers(root);
    expect(violations).toEqual([{ kind: 'cycle', files: ['src/keys/a.ts', 'src/keys/b.ts', 'src/keys/a.ts'], lines: [1, 2] }]);
    expect(violations.map(formatViolation)).toEqual(['import cycle: src/keys/a.ts:1 -> src/keys/b.ts:2 -> src/keys/a.ts']);
  });

  it('reports each cycle of a tangle once, and a file that imports itself', () => {
    const root = tree({
      'src/keys/a.ts': "import './b.ts';\nimport './c.ts';\n",
      'src/keys/b.ts': "import './a.ts';\n",
      'src/keys/c.ts': "import './a.ts';\n",
      'src/keys/self.ts': "import './self.ts';\n",
    });
    expect(messages(root)).toEqual([
      'import cycle: src/keys/a.ts:1 -> src/keys/b.ts:1 -> src/keys/a.ts',
      'import cycle: src/keys/a.ts:2 -> src/keys/c.ts:1 -> src/keys/a.ts',
      'import cycle: src/keys/self.ts:1 -> src/keys/self.ts',
    ]);
  });

  it('fails a file in a folder that the layer table does not name', () => {
    const root = tree({ 'src/plugins/x.ts': 'export const x = 1;\n' });
    expect(messages(root)).toEqual(['src/plugins/x.ts is in no layer (add its folder to LAYERS in scripts/check-layers.ts)']);
  });
});
