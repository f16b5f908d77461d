import type { Command } from 'commander';
import type { Segment, SeriesReport } from '../../../core/monitor/series.js';
import { action, examples } from '../../command.js';
import { result } from '../../output.js';
import { sparkline } from '../../terminal/sparkline.js';
import { formatNumber, formatTime, type Ui } from '../../terminal/style.js';

interface ShowOpts {
  since?: string;
  metric?: string;
  slice?: string;
}

export function registerShow(monitor: Command): void {
  monitor
    .command('show')
    .argument('<target>', 'NAME or NAME@STAGE (default stage: production)')
    .description('the live metrics over time, per version, with promotions and rollbacks marked')
    .option('--since <when>', 'from this time (ISO 8601) or this long ago (30m, 24h, 7d, 2w)')
    .option('--metric <name>', 'only this metric')
    .option('--slice <name>', 'only this slice (default: every slice)')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor show fraud --since 7d',
        'mlreg monitor show fraud --metric auc --slice all',
        'mlreg monitor show fraud@canary --json',
      ),
    )
    .action(
      action<ShowOpts>(async (ctx, [target], opts) => {
        const { parseTarget } = await import('../../../core/monitor/observations.js');
        const { series, parseSince } = await import('../../../core/monitor/series.js');
        const reg = ctx.registry();
        const since = opts.since === undefined ? undefined : parseSince(opts.since, reg.runtime.now());
        return result(
          series(reg, parseTarget(target!), { since, metric: opts.metric, slice: opts.slice }),
          renderSeries,
        );
      }),
    );
}

function renderSeries(d: SeriesReport, ui: Ui): string {
  if (d.series.length === 0)
    return `No observations of ${d.name}@${d.stage}${d.since ? ` since ${formatTime(d.since)}` : ''}. Record some with \`mlreg monitor record ${d.name} auc=0.9\`.`;
  const out: string[] = [];
  for (const s of d.series) {
    const all = s.segments.flatMap((g) => g.points.map((p) => p.value));
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    out.push(
      ui.c.bold(`${s.metric}${s.slice === 'all' ? '' : `[${s.slice}]`} from ${s.source}`) +
        ui.c.dim(`  (${formatNumber(lo)} … ${formatNumber(hi)})`),
    );
    let prev: Segment | undefined;
    for (const g of s.segments) {
      // Mark where the version changed, with the stage move that did it: the last such move between
      // the two segments (the same pair of versions may have swapped places several times).
      if (prev !== undefined) {
        const after = prev;
        const move = d.changes.findLast(
          (c) => c.from === after.version && c.to === g.version && c.at <= g.from && c.at >= after.to,
        );
        out.push(
          ui.c.yellow(
            ui.fit(
              `  ── ${move ? `${move.kind} ${after.version} → ${g.version} at ${formatTime(move.at)}${move.reason ? ` (${move.reason.replace(/\r?\n/g, ' ')})` : ''}` : `${after.version} → ${g.version}`}`,
            ),
          ),
        );
      }
      const stats = `  mean ${formatNumber(g.mean)}  last ${formatNumber(g.last)}  n=${g.count}`;
      const when = `  ${formatTime(g.from)} → ${formatTime(g.to)}`;
      // The sparkline takes what the terminal leaves (40 columns when piped), at least 8.
      const room = ui.width === undefined ? 40 : Math.max(8, ui.width - 13 - stats.length - when.length);
      const spark = sparkline(
        g.points.map((p) => p.value),
        lo,
        hi,
      );
      const line = `  ${g.version.padEnd(10)} ${(spark.length > room ? spark.slice(-room) : spark).padEnd(Math.min(40, room))}${stats}`;
      out.push(ui.fit(ui.width !== undefined && line.length + when.length > ui.width ? line : line + when));
      prev = g;
    }
  }
  return out.join('\n');
}
