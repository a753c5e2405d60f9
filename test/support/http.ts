// Real HTTP from a chosen local address: loopback addresses such as 127.0.0.5 or ::1 act as
// distinct client machines.
import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: any;
}

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  json?: unknown;
  raw?: string | Buffer;
  /** Client socket address: '127.0.0.5', '::1', … */
  from?: string;
  /** Sends the body with Transfer-Encoding: chunked, in 1 KiB chunks, instead of a Content-Length. */
  chunked?: boolean;
}

/** The request's body bytes and headers: a form or JSON body also sets its Content-Type (unless given). */
export function encodeBody(request: HttpRequest): { payload: string | Buffer | undefined; headers: Record<string, string> } {
  const headers: Record<string, string> = { ...request.headers };
  if (request.form) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    return { payload: new URLSearchParams(request.form).toString(), headers };
  }
  if (request.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    return { payload: JSON.stringify(request.json), headers };
  }
  return { payload: request.raw, headers };
}

export function send(port: number, request: HttpRequest): Promise<HttpResponse> {
  const from = request.from ?? '127.0.0.1';
  const host = from.includes(':') ? '::1' : '127.0.0.1';
  const { payload, headers } = encodeBody(request);
  if (request.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        localAddress: from,
        method: request.method ?? 'POST',
        path: request.path,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.on('error', reject);
    if (!request.chunked || payload === undefined) return void req.end(payload);
    const bytes = Buffer.from(payload);
    for (let offset = 0; offset < bytes.length; offset += 1024) req.write(bytes.subarray(offset, offset + 1024));
    req.end();
  });
}

export function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (text: string) => encodeURIComponent(text);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}
