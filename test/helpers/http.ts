/** A small HTTP client for API tests: JSON in, JSON out, over real HTTP. */
export interface APIResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  cookie?: string;
  origin?: string;
  headers?: Record<string, string>;
  /** Send this exact text as the body instead of JSON-encoding `body`. */
  raw?: string;
  contentType?: string;
}

export async function request<T = any>(base: string, method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<APIResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin) headers.origin = options.origin;
  let payload: string | undefined;
  if (options.raw !== undefined) {
    payload = options.raw;
    headers['content-type'] = options.contentType ?? 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(base + path, { method, headers, body: payload, redirect: 'manual' });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed as T, text, headers: response.headers };
}

export function apiClient(base: string) {
  return {
    get: <T = any>(path: string, options?: RequestOptions) => request<T>(base, 'GET', `/api/v1${path}`, undefined, options),
    post: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>(base, 'POST', `/api/v1${path}`, body, options),
    patch: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>(base, 'PATCH', `/api/v1${path}`, body, options),
    delete: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>(base, 'DELETE', `/api/v1${path}`, body, options),
  };
}

export type APIClient = ReturnType<typeof apiClient>;
