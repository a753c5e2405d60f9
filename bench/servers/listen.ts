// Shared by the baseline servers: listen on 127.0.0.1:$PORT, exit cleanly on SIGTERM.
import type http from 'node:http';

export function listen(server: http.Server, onClose: () => Promise<void> = async () => {}): void {
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.once('SIGTERM', () => {
    server.close(() => void onClose().finally(() => process.exit(0)));
    server.closeAllConnections();
  });
}
