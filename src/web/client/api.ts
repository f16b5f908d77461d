import type { Envelope } from '../wire.js';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GET /api/PATH and unwrap the `--json` envelope. */
export async function get<T>(path: string): Promise<T> {
  const res = await fetch(`/api${path}`, { headers: { Accept: 'application/json' } });
  const body = (await res.json()) as Envelope<T>;
  if (!body.ok) throw new ApiError(body.error.message, body.error.hint, res.status);
  return body.data;
}
