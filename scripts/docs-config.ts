// `npm run docs:config`: regenerate the README configuration table from src/config.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigReference } from '../src/config-reference.ts';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withConfigReference(readFileSync(path, 'utf8')));
