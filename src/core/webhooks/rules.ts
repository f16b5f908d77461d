/**
 * What a webhook subscription may hold. The same rules check `webhook add`, an operation read from
 * a remote log, a checkpoint and a restored index: a URL in the registry came from outside.
 */

/** The events a subscription can ask for, in the order help lists them. */
export const WEBHOOK_EVENTS = ['promote', 'rollback', 'add', 'deprecate', 'delete', 'alert', 'deploy'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/**
 * The name of the variable holding a subscription's secret (never the secret): it must start with
 * MLREG_WEBHOOK_. A subscription can come from anyone who writes to a shared registry (or its
 * remote); were any name allowed, it could make every machine sign deliveries to a URL of its choice
 * with an unrelated secret of that machine (PGPASSWORD, a token), a signature that can be attacked
 * offline. A variable under this prefix was set for mlreg's webhooks and nothing else.
 */
export const ENV_NAME_RE = /^MLREG_WEBHOOK_[A-Za-z0-9_]{1,100}$/;
export const ENV_PREFIX = 'MLREG_WEBHOOK_';

export const MAX_URL_LENGTH = 2048;

/** Null when `url` is one mlreg delivers to, else what is wrong with it (for a message). */
export function checkWebhookUrl(url: string): string | null {
  if (url.length > MAX_URL_LENGTH) return `it is longer than ${MAX_URL_LENGTH} characters`;
  // Control characters and spaces would be changed by URL parsing: what is stored must be what is called.
  if (/[\u0000-\u0020\u007f]/.test(url)) return 'it holds spaces or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `its scheme is ${parsed.protocol.replace(/:$/, '')}, not http or https`;
  if (!parsed.hostname) return 'it has no host';
  // A password in the URL would be stored in the registry and shown by `webhook list`; the secret
  // belongs in the environment, where the signature takes it from.
  if (parsed.username || parsed.password) return 'it holds a user name or password';
  if (parsed.hash) return 'it has a #fragment, which is never sent';
  return null;
}

export function isWebhookUrl(url: string): boolean {
  return checkWebhookUrl(url) === null;
}

/** A JSON list of known event names without repeats (as the webhooks table stores them). */
export function isEventList(json: string): boolean {
  try {
    const v: unknown = JSON.parse(json);
    return (
      Array.isArray(v) &&
      v.length > 0 &&
      new Set(v).size === v.length &&
      v.every((e) => typeof e === 'string' && (WEBHOOK_EVENTS as readonly string[]).includes(e))
    );
  } catch {
    return false;
  }
}
