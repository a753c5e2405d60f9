// Where the console's API lives; its answers carry the API headers (http/api-headers.ts).
export const CONSOLE_API_PREFIX = '/console/api/';
