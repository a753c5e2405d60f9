// The browser suites' set-up: the same Postgres and Redis as the integration run, plus Debian's
// chromium, installed here like redis-server when missing (as root), never downloaded by npm.
import type { TestProject } from 'vitest/node';
import setupServers from './global-setup.ts';
import { ensureInstalled } from './processes.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumPath: string;
  }
}

export default async function setup(project: TestProject) {
  const chromiumPath = ensureInstalled('chromium', 'chromium');
  project.provide('chromiumPath', chromiumPath);
  return setupServers(project);
}
