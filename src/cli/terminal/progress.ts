import type { Context } from '../context.js';

/** Large transfers show a progress bar on stderr, on a terminal only (never in CI or pipes). */
const MIN_BYTES = 64 * 1024 * 1024;

export async function progressFor(
  ctx: Context,
  label: string,
  totalHint?: number,
): Promise<{ update: (done: number, total: number) => void; stop: () => void }> {
  const none = { update: () => {}, stop: () => {} };
  if (!ctx.interactive || ctx.json) return none;
  if (totalHint !== undefined && totalHint < MIN_BYTES) return none;
  const { default: cliProgress } = await import('cli-progress');
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  let started = 0;
  return {
    update(done, total) {
      if (total < MIN_BYTES) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: ctx.io.stderr,
            format: `${label} [{bar}] {percentage}% {doneMiB}/{totalMiB} MiB {speed} MiB/s eta {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { doneMiB: '0', totalMiB: (total / 1048576).toFixed(0), speed: '0' });
        started = Date.now();
      }
      const secs = (Date.now() - started) / 1000;
      bar.update(done, {
        doneMiB: (done / 1048576).toFixed(0),
        speed: secs > 0 ? (done / 1048576 / secs).toFixed(0) : '0',
      });
    },
    stop() {
      bar?.stop();
    },
  };
}
