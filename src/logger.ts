// JSON log lines (pino). Secrets, tokens and Authorization headers are redacted wherever they
// might appear; code logs ids and reasons, never request bodies.
import pino, { type Logger } from 'pino';

export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'api_key',
  '*.api_key',
  'apiKey',
  '*.apiKey',
  'accessKey',
  '*.accessKey',
  'access_token',
  '*.access_token',
  'accessToken',
  '*.accessToken',
  'token',
  '*.token',
  'password',
  '*.password',
  'pepper',
  '*.pepper',
  'cookie',
  '*.cookie',
  'headers.cookie',
  '*.headers.cookie',
  'csrfToken',
  '*.csrfToken',
  'csrf_token',
  '*.csrf_token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'keygate' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
