import { bootstrap, formatBootstrapBanner } from '../keys/bootstrap.ts';
import type { Runtime } from '../runtime.ts';
import { startServer } from '../server.ts';

/** `keygate serve`: resolves when the server has drained after SIGTERM/SIGINT. */
export async function serve(runtime: Runtime): Promise<void> {
  const { config, log } = runtime;
  if (runtime.tokens.kind === 'memory') {
    log.warn('REDIS_URL is not set: tokens live in this process only. Run a single process, or set REDIS_URL.');
  }
  if (!config.databaseUrl) {
    const done = await bootstrap(runtime, { adminEmail: config.adminEmail });
    if (done) process.stdout.write(formatBootstrapBanner(done));
  }
  const running = await startServer(runtime);
  log.info({ port: running.port, tlsPort: running.tlsPort, host: config.host, issuer: config.issuer }, 'keygate listening');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'draining');
      running
        .close()
        .catch((error) => log.error({ err: error }, 'drain failed'))
        .finally(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
