import { packageVersion } from '../core/lib/fs.js';
import type { Registry } from '../core/registry/registry.js';
import type { DeliveryOptions, DeliveryReport } from '../core/webhooks/deliver.js';
import type { WebhookEvent } from '../core/webhooks/events.js';
import type { Context } from './context.js';
import { notice } from './output.js';

/**
 * The one place the CLI announces what a command changed: once the command is done (its changes
 * committed, locally and on a replica's remote), the webhook events of those changes are delivered
 * to the subscriptions that asked for them. A failed delivery is a notice and a record, never a
 * change of the command's outcome or exit code.
 */

/** How deliveries are made from this run: secrets from its environment, MLREG_WEBHOOK_TIMEOUT (ms per attempt). */
export async function deliveryOptions(ctx: Context, reg: Registry): Promise<DeliveryOptions> {
  const { replicaInfo } = await import('../core/remote/replica-state.js');
  const timeout = Number(ctx.env.MLREG_WEBHOOK_TIMEOUT);
  return {
    env: ctx.env,
    userAgent: `mlreg/${packageVersion()}`,
    ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutMs: timeout } : {}),
    registry: replicaInfo(reg)?.url ?? null,
  };
}

/** Deliver the events of the changes the command committed; the reports (undefined when none was made). */
export async function announceChanges(ctx: Context): Promise<DeliveryReport[] | undefined> {
  const reg = ctx.openedRegistry();
  if (!reg || reg.committedChanges.length === 0) return undefined;
  const changes = reg.committedChanges.splice(0);
  try {
    // Most registries have no subscription: one lookup, nothing more loaded.
    if (!reg.db.prepare('SELECT 1 FROM webhooks LIMIT 1').get()) return undefined;
    const { webhookEventsFor } = await import('../core/webhooks/events.js');
    return await deliverAndReport(ctx, reg, webhookEventsFor(changes));
  } catch (err) {
    // The change is committed whatever happens here: say what went wrong, keep the command's outcome.
    notice(
      ctx.io,
      `warning: webhooks of this change were not delivered (${(err as Error).message}); the change stands`,
    );
    return undefined;
  }
}

/**
 * Deliver events the caller made itself (a follower's deploy: `deployEvent(...)` from core/webhooks/events.ts),
 * after its commit; failures become notices. A long-running command (follow) calls `announceChanges(ctx)` after
 * each change it commits instead of waiting for its end.
 */
export async function deliverAndReport(
  ctx: Context,
  reg: Registry,
  events: readonly WebhookEvent[],
): Promise<DeliveryReport[] | undefined> {
  if (events.length === 0) return undefined;
  const { deliverEvents } = await import('../core/webhooks/deliver.js');
  const reports = await deliverEvents(reg, events, await deliveryOptions(ctx, reg));
  for (const r of reports) if (r.status === 'failed' || !r.recorded) notice(ctx.io, describeFailure(r));
  return reports.length ? reports : undefined;
}

function describeFailure(r: DeliveryReport): string {
  if (r.status === 'delivered')
    return `warning: webhook ${r.webhook} took the ${r.event} event, but this folder could not record the delivery`;
  return `warning: webhook ${r.webhook} (${r.url}) did not take the ${r.event} event: ${r.error}; the change stands (see \`mlreg webhook list\`)`;
}
