/**
 * The operations to fuzz, read from the running server's own OpenAPI document, so a route added
 * later is fuzzed without touching this folder. Page form routes (hidden from the document)
 * come from the authentication guard's route catalog.
 */
import type { FastifyInstance } from 'fastify';

export interface JSONSchema {
  type?: string | string[];
  properties?: Record<string, JSONSchema>;
  required?: string[];
  additionalProperties?: boolean | JSONSchema;
  minProperties?: number;
  items?: JSONSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JSONSchema[];
  oneOf?: JSONSchema[];
  allOf?: JSONSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JSONSchema;
}

export interface Operation {
  method: string;
  /** The OpenAPI path template, e.g. /api/v1/account/users/{id}. */
  path: string;
  parameters: Parameter[];
  bodySchema: JSONSchema | null;
  isPublic: boolean;
}

interface OpenAPIDocument {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: JSONSchema }> }; security?: unknown[] }>>;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

export async function loadOperations(baseURL: string): Promise<Operation[]> {
  const response = await fetch(`${baseURL}/api/v1/openapi.json`);
  if (response.status !== 200) throw new Error(`GET /api/v1/openapi.json answered ${response.status}`);
  const document = (await response.json()) as OpenAPIDocument;
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!HTTP_METHODS.has(method)) continue;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        bodySchema: operation.requestBody?.content?.['application/json']?.schema ?? null,
        isPublic: Array.isArray(operation.security) && operation.security.length === 0,
      });
    }
  }
  return operations;
}

export interface FormRoute {
  /** Fastify's URL pattern, e.g. /password/reset/:token. */
  url: string;
  access: string;
  /** Field names read from the form page(s), plus a common pool. */
  fields: string[];
}

/** Field names any page form might read; the page's own inputs are added to these. */
const COMMON_FORM_FIELDS = ['email', 'password', 'code', 'method', 'name', 'accountName', 'phone', 'role', 'enforce2fa', 'next', 'token', 'action'];

/** Every page POST in the route catalog, with the input names its GET sibling renders. */
export async function loadFormRoutes(app: FastifyInstance, baseURL: string, cookieHeaders: string[]): Promise<FormRoute[]> {
  const posts = app.routeCatalog.filter((route) => route.method === 'POST' && !route.url.startsWith('/api/'));
  const routes: FormRoute[] = [];
  for (const route of posts) {
    const fields = new Set(COMMON_FORM_FIELDS);
    const pageURL = route.url.replace(/:(\w+)/g, 'x');
    for (const cookie of cookieHeaders) {
      const page = await fetch(baseURL + pageURL, { headers: { cookie }, redirect: 'manual' });
      for (const match = /name="([A-Za-z0-9_]+)"/g, text = await page.text(); ; ) {
        const found = match.exec(text);
        if (!found) break;
        fields.add(found[1]!);
      }
    }
    fields.delete('_csrf');
    routes.push({ url: route.url, access: route.access, fields: [...fields] });
  }
  return routes;
}
