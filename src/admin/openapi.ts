// The OpenAPI 3.1 document, generated from the route declarations and the zod schemas that
// validate requests: what is documented is what is enforced.
import { z } from 'zod';
import type { AdminRoute } from './router.ts';
import { ErrorSchema } from './schemas.ts';

const COMMON_RESPONSES: AdminRoute['responses'] = {
  401: { description: 'no active bearer token from this server', schema: ErrorSchema },
  403: { description: 'the token lacks the scope this route requires, or the target holds rights the caller lacks', schema: ErrorSchema },
};

type Components = Record<string, unknown>;

/** Named schemas (zod `.meta({ id })`) go to components.schemas: a 3.1 document resolves refs from its root. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Components) {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  const {
    $schema: _ignored,
    $defs,
    ...rest
  } = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown> & { $defs?: Record<string, unknown> };
  Object.assign(components, $defs ?? {});
  return rest;
}

function parameters(route: AdminRoute, components: Components) {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: name === 'id' ? 'the key client_id' : undefined,
  }));
  if (!route.query) return pathParams;
  const query = jsonSchema(route.query, 'input', components) as { properties?: Record<string, object>; required?: string[] };
  const queryParams = Object.entries(query.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: query.required?.includes(name) ?? false,
    schema,
  }));
  return [...pathParams, ...queryParams];
}

export function buildOpenApiDocument(routes: readonly AdminRoute[], issuer: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Components = {};
  for (const route of routes) {
    const responses = Object.fromEntries(
      Object.entries({ ...route.responses, ...COMMON_RESPONSES }).map(([status, r]) => [
        status,
        {
          description: r.description,
          ...(r.schema ? { content: { 'application/json': { schema: jsonSchema(r.schema, 'output', schemas) } } } : {}),
          ...(r.mediaTypes ? { content: Object.fromEntries(r.mediaTypes.map((type) => [type, { schema: { type: 'string' } }])) } : {}),
        },
      ]),
    );
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      security: [{ bearer: [route.scope] }, { consoleSession: [] }],
      'x-required-scope': route.scope,
      parameters: parameters(route, schemas),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input', schemas) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keygate admin API',
      version: '1',
      description:
        "Manage API keys and read the audit log. Authenticate with a bearer token from this server's /oauth/token whose scopes include the admin:* scope each operation names, or, from the console's own pages, with the keygate_session cookie (__Host-keygate_session over https; the signed-in user's role decides; every change also sends X-CSRF-Token).",
    },
    servers: [{ url: `${issuer}/admin/v1` }],
    components: {
      schemas,
      securitySchemes: {
        consoleSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'keygate_session',
          description: 'a console sign-in (named __Host-keygate_session when the issuer is https); changes also need the X-CSRF-Token header',
        },
        bearer: {
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: `${issuer}/oauth/token`,
              scopes: {
                'admin:keys:read': 'read keys',
                'admin:keys:write': 'create and change keys (implies read)',
                'admin:users:write': 'manage users',
                'admin:tenants:write': 'manage tenants',
                'admin:audit:read': 'read the audit log',
              },
            },
          },
        },
      },
    },
    paths,
  };
}
