/**
 * The one API client of the panel: openapi-fetch typed by the generated paths, the bearer token
 * from the in-memory session on every call, and a 401 ending the session. `call` turns a refusal
 * into an ApiRefusal that forms show next to the field it names.
 */
import createClient from 'openapi-fetch';
import type { paths } from './openapi';
import { endSession, token } from '../session.ts';

export const api = createClient<paths>({ baseUrl: '' });

api.use({
  onRequest({ request }) {
    const bearer = token();
    if (bearer) request.headers.set('authorization', `Bearer ${bearer}`);
    return request;
  },
  async onResponse({ response }) {
    // A 401 on a logged-in call means the token expired or was revoked at the parent; its words say which.
    if (response.status === 401 && token()) {
      const body = (await response
        .clone()
        .json()
        .catch(() => ({}))) as { message?: string };
      endSession(`Your session ended at the parent: ${body.message ?? 'the token was refused'}.`);
    }
    return response;
  },
});

/** A refusal as the API words it: the same kind, message and field the CLI prints. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly field: string | null,
  ) {
    super(message);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (error) {
    throw new ApiRefusal(0, 'network', `the parent did not answer (${(error as Error).message})`, null);
  }
  if (answer.response.ok) return answer.data as T;
  const body = (answer.error ?? {}) as { error?: string; message?: string; field?: string };
  throw new ApiRefusal(answer.response.status, body.error ?? 'internal', body.message ?? `HTTP ${answer.response.status}`, body.field ?? null);
}

export function asRefusal(error: unknown): ApiRefusal {
  return error instanceof ApiRefusal ? error : new ApiRefusal(0, 'internal', (error as Error).message ?? String(error), null);
}
