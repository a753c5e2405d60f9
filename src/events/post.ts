// One HTTP POST to a checked address: short timeouts, no redirects followed (a 3xx is a failure),
// at most a small excerpt of the answer kept.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './outbound-target.ts';

const EXCERPT_BYTES = 512;

export interface PostResult {
  /** null when no answer came (refused, timed out, reset). */
  status: number | null;
  latencyMs: number;
  error: string | null;
  excerpt: string | null;
}

/** Connects to `target.address` whatever the URL's host resolves to by now; TLS still checks the name. */
export function postTo(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string | Buffer,
  timeoutMs: number,
  /** Certificate authorities for https, instead of the system's. */
  ca?: Buffer,
): Promise<PostResult> {
  const started = performance.now();
  // Whatever the host name resolves to by now, the connection goes to the addresses checked.
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, target.addresses);
    else callback(null, target.addresses[0]!.address, target.addresses[0]!.family);
  };
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<PostResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: Math.round(performance.now() - started) });
    };
    const request = client.request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Keygate-Webhooks/1' },
        lookup: pinned,
        agent: false,
        ...(ca ? { ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < EXCERPT_BYTES) {
            chunks.push(chunk.subarray(0, EXCERPT_BYTES - kept));
            kept += Math.min(chunk.length, EXCERPT_BYTES - kept);
          }
        });
        response.on('end', () => finish({ status: response.statusCode ?? null, error: null, excerpt: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => finish({ status: response.statusCode ?? null, error: error.message, excerpt: null }));
      },
    );
    // One budget for connecting, sending and the whole answer.
    const timer = setTimeout(() => {
      request.destroy();
      finish({ status: null, error: `no answer within ${timeoutMs} ms`, excerpt: null });
    }, timeoutMs);
    request.on('error', (error) => finish({ status: null, error: error.message, excerpt: null }));
    request.end(body);
  });
}

/** 2xx only: a redirect is not followed and counts as a failure. */
export const succeeded = (result: PostResult): boolean => result.status !== null && result.status >= 200 && result.status < 300;
