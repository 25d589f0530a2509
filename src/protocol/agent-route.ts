/**
 * A route of the agent's API as the parent calls it: method, path, the schema of its body (checked
 * by the caller before anything is sent, and by the agent again) and the type of its answer.
 * `:name` segments of the path (query included) are filled from the call's params, URL-encoded.
 */
import type { Static, TSchema } from '@sinclair/typebox';

export type AgentMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AgentRoute<Body, Response> {
  readonly method: AgentMethod;
  readonly path: string;
  readonly body: TSchema | null;
  /** How long the parent waits for the answer, when the route is slower than a plain call. */
  readonly timeoutMs?: number;
  /** Never set: carries the body and answer types to the caller. */
  readonly types?: { body: Body; response: Response };
}

/** A route without a body; the answer type is given explicitly: `routeWithoutBody<HelloResponse>()('GET', '/v1/hello')`. */
export function routeWithoutBody<Response>() {
  return (method: AgentMethod, path: string, timeoutMs?: number): AgentRoute<undefined, Response> => ({ method, path, body: null, timeoutMs });
}

/** A route whose body is `schema`. */
export function routeWithBody<Response>() {
  return <S extends TSchema>(method: AgentMethod, path: string, schema: S, timeoutMs?: number): AgentRoute<Static<S>, Response> => ({
    method,
    path,
    body: schema,
    timeoutMs,
  });
}

/** The route's path with its `:name` parts filled in. */
export function routePath(route: AgentRoute<unknown, unknown>, params: Readonly<Record<string, string>> = {}): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${route.method} ${route.path}: no value for :${name}`);
    return encodeURIComponent(value);
  });
}
