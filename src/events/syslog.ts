// A syslog connection: RFC 5424 messages over TCP, framed by octet counting (RFC 6587 §3.4.1),
// optionally in TLS (RFC 5425). A write counts as taken once the socket has flushed it.
import net from 'node:net';
import tls from 'node:tls';

export interface SyslogConnection {
  write(messages: string[]): Promise<void>;
  destroy(): void;
}

export function createSyslogConnection(url: string, timeoutMs: number, ca?: Buffer): Promise<SyslogConnection> {
  const target = new URL(url);
  const port = Number(target.port || (target.protocol === 'tls:' ? 6514 : 601));
  const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  return new Promise((resolve, reject) => {
    const socket: net.Socket =
      target.protocol === 'tls:'
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(ca ? { ca } : {}) })
        : net.connect({ host, port });
    let failure: Error | undefined;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`syslog: no progress within ${timeoutMs} ms`)));
    socket.on('error', (error) => {
      failure = error;
      reject(error);
    });
    socket.once('close', () => {
      failure ??= new Error('syslog: connection closed');
    });
    socket.once(target.protocol === 'tls:' ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0); // the timeout bounds connecting; an idle connection may stay open
      resolve({
        write(messages) {
          if (failure || socket.destroyed) return Promise.reject(failure ?? new Error('syslog: connection closed'));
          const framed = messages.map((message) => `${Buffer.byteLength(message)} ${message}`).join('');
          return new Promise((done, fail) => socket.write(framed, (error) => (error ? fail(error) : done())));
        },
        destroy: () => socket.destroy(),
      });
    });
  });
}
