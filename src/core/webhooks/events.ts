import type { CommittedChange } from '../registry/registry.js';
import type { WebhookEventName } from './rules.js';

/**
 * The body of a delivery: one change, as a receiver needs it. `to` is the version a stage (or a
 * serving host, for deploy) now holds; `from` what it held before; `version` the version the event
 * is about (for add, deprecate, delete and alert: the only one).
 */
export interface WebhookEvent {
  event: WebhookEventName | 'test';
  artifact: string | null;
  stage: string | null;
  from: string | null;
  to: string | null;
  version: string | null;
  actor: string;
  reason: string | null;
  /** When the change happened (ISO 8601, UTC), as recorded in the registry. */
  time: string;
  /** deploy: the host that now serves `to`. */
  host?: string;
}

/** The webhook events of committed changes, in order. Changes without an event (config, evaluations…) give none. */
export function webhookEventsFor(changes: readonly CommittedChange[]): WebhookEvent[] {
  const out: WebhookEvent[] = [];
  for (const { op, actor } of changes) {
    const base = { actor, time: op.at };
    switch (op.op) {
      case 'stage.move':
        out.push({
          ...base,
          event: op.move,
          artifact: op.name,
          stage: op.stage,
          from: op.from,
          to: op.version,
          version: op.version,
          reason: op.reason,
        });
        break;
      case 'version.add':
        out.push({
          ...base,
          event: 'add',
          artifact: op.name,
          stage: null,
          from: null,
          to: op.version,
          version: op.version,
          reason: null,
        });
        break;
      case 'version.deprecate':
      case 'version.delete':
        out.push({
          ...base,
          event: op.op === 'version.deprecate' ? 'deprecate' : 'delete',
          artifact: op.name,
          stage: null,
          from: null,
          to: null,
          version: op.version,
          reason: op.reason,
        });
        break;
      case 'monitor.alert':
        out.push({
          ...base,
          event: 'alert',
          artifact: op.name,
          stage: op.stage,
          from: null,
          to: null,
          version: op.version,
          reason: op.reason,
        });
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * The deploy event of a serving host that switched to a version (`mlreg follow`): deliver it with
 * `deliverEvents` once the follower's report is committed.
 */
export function deployEvent(d: {
  artifact: string;
  stage: string;
  version: string;
  from: string | null;
  host: string;
  actor: string;
  time: string;
  reason?: string | null;
}): WebhookEvent {
  return {
    event: 'deploy',
    artifact: d.artifact,
    stage: d.stage,
    from: d.from,
    to: d.version,
    version: d.version,
    actor: d.actor,
    reason: d.reason ?? null,
    time: d.time,
    host: d.host,
  };
}
