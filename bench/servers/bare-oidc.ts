// Baseline 5, "bare oidc-provider": the library's own client_credentials token endpoint
// (POST /token), one static client, its default in-memory adapter, no policy.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';
import { listen } from './listen.ts';

const port = Number(process.env.PORT ?? 0);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: process.env.BARE_CLIENT_ID!,
      client_secret: process.env.BARE_CLIENT_SECRET!,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  features: { clientCredentials: { enabled: true } },
  jwks: { keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as never] },
});
const server = http.createServer(provider.callback());
server.keepAliveTimeout = 65_000;
listen(server);
