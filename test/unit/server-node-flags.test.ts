import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../src/cli/server-node-flags.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('every way of starting the server passes the measured V8 heap flags', () => {
  const expected = `node ${SERVER_NODE_FLAGS.join(' ')} src/cli/main.ts serve`;

  it('npm start', () => {
    expect(JSON.parse(read('package.json')).scripts.start).toBe(expected);
  });

  it('the container image and the Kubernetes base', () => {
    const asJson = JSON.stringify(['node', ...SERVER_NODE_FLAGS, 'src/cli/main.ts', 'serve']).replaceAll(',', ', ');
    expect(read('Dockerfile')).toContain(`CMD ${asJson}`);
    expect(read('deploy/base/deployment.yaml')).toContain(`args: ${asJson}`);
  });

  it('npx keygate serve', () => {
    expect(read('bin/keygate')).toContain(`serve_flags="${SERVER_NODE_FLAGS.join(' ')}"`);
  });
});
