// The console's files: read once from the top-level console/ folder when the server starts, kept in
// memory with a strong ETag. Browser code is TypeScript; it is served as JavaScript by stripping
// its types (node:module), so there is no build step and no second copy of the code on disk.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

export const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.ts': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Files of the folder that are never served: compiler settings and type declarations. */
const isServed = (relative: string) => Object.hasOwn(CONTENT_TYPES, path.extname(relative)) && !relative.endsWith('.d.ts');

/** URL path under /console (`/pages/keys.ts`) → asset. */
export function loadConsoleAssets(dir: string = CONSOLE_DIR): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const absolute = path.join(entry.parentPath, entry.name);
    const relative = path.relative(dir, absolute).split(path.sep).join('/');
    if (!isServed(relative)) continue;
    const source = readFileSync(absolute);
    const extension = path.extname(relative);
    const body = extension === '.ts' ? Buffer.from(stripTypeScriptTypes(source.toString('utf8'), { mode: 'strip' })) : source;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(`/${relative}`, { body, contentType: CONTENT_TYPES[extension]!, etag });
  }
  return assets;
}
