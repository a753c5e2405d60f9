// Embedded mode only: without KEYGATE_SECRET_PEPPER a random pepper is generated once into the
// data dir (mode 0600). Replicas must share one, so config.ts requires it with DATABASE_URL.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function loadOrCreateLocalPepper(dataDir: string): Promise<string> {
  const file = path.join(path.resolve(dataDir), 'pepper');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o711 });
  const pepper = `1:${randomBytes(32).toString('base64url')}`;
  await fs.writeFile(file, `${pepper}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  return (await fs.readFile(file, 'utf8')).trim();
}
