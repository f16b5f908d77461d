import type { GateReport } from '../../core/evaluations/gates.js';
import type { PolicyReport } from '../../core/stages/policy.js';
import { formatNumber, type Ui } from '../terminal/style.js';

/** Human output of promotion gates: the if-better table with the numbers, and the stage-order check. */

function signed(n: number): string {
  return `${n > 0 ? '+' : ''}${formatNumber(n)}`;
}

export function renderGate(r: GateReport, ui: Ui): string {
  const lines: string[] = [];
  const rule = `${r.metric} on ${r.dataset.name}@${r.dataset.version} (${r.direction} is better)`;
  const extra = [
    r.minDelta ? `min delta ${formatNumber(r.minDelta)}` : '',
    r.maxSliceRegression !== null ? `max slice regression ${formatNumber(r.maxSliceRegression)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  lines.push(`${ui.c.bold('Gate')} --if-better ${rule}${extra ? `, ${extra}` : ''}`);
  const champ = r.champion ? `${r.champion.version}${r.champion.deprecated ? ' (deprecated)' : ''}` : '(none)';
  lines.push(
    ui.table(
      ['SLICE', `CHALLENGER ${r.challenger.version}`, `CHAMPION ${champ}`, 'DELTA', 'NEEDS', 'RESULT'],
      r.rows.map((x) => [
        x.slice,
        x.challenger === null ? '-' : formatNumber(x.challenger),
        x.champion === null ? '-' : formatNumber(x.champion),
        x.delta === null ? '' : signed(x.delta),
        r.baseline !== 'champion'
          ? ''
          : x.rule === 'better'
            ? x.threshold > 0
              ? `better by ≥ ${formatNumber(x.threshold)}`
              : 'better'
            : `worse by ≤ ${formatNumber(x.threshold)}`,
        x.pass ? ui.c.green(x.note ? `ok (${x.note})` : 'ok') : ui.c.red(x.note ? `FAIL (${x.note})` : 'FAIL'),
      ]),
    ),
  );
  lines.push(r.passed ? ui.c.green(r.summary) : ui.c.red(r.summary));
  return lines.join('\n');
}

export function renderPolicy(p: PolicyReport, ui: Ui): string {
  const order = p.order.join(' → ');
  if (p.held) return `stage order ${order}: ${p.version.version} held ${p.requires} before`;
  if (p.forced)
    return ui.c.yellow(
      `stage order ${order}: ${p.version.version} never held ${p.requires}; overridden with --force (logged)`,
    );
  return ui.c.red(`stage order ${order}: ${p.version.version} never held ${p.requires}, which comes before ${p.stage}`);
}

/** The report a failed gate carries (GateNotMetError details). */
export function renderGateFailure(d: GateReport | PolicyReport, ui: Ui): string {
  return d.kind === 'if-better' ? renderGate(d, ui) : renderPolicy(d, ui);
}
