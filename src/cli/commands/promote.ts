import type { Command } from 'commander';
import type { StageMove } from '../../core/stages/promote.js';
import type { CheckoutResult, PreparedCheckout } from '../../core/versions/checkout.js';
import { GateNotMetError, UsageError } from '../../core/errors.js';
import type { GateSpec } from '../../core/evaluations/gates.js';
import type { GatedMove } from '../../core/stages/gated-promote.js';
import { failWithReport, result } from '../output.js';
import { action, collect, examples } from '../command.js';
import type { Ui } from '../terminal/style.js';
import { durationOption, numberOption } from '../options.js';
import { renderGate, renderGateFailure, renderPolicy } from '../render/gate.js';

interface PromoteOpts {
  to: string;
  reason?: string;
  expect?: string;
  dryRun?: boolean;
  allowPrerelease?: boolean;
  newStage?: boolean;
  checkout?: string;
  ifBetter?: string;
  on?: string;
  minDelta?: number;
  slice?: string[];
  allSlices?: boolean;
  maxSliceRegression?: number;
  evalCmd?: string;
  evalTimeout?: number;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command('promote')
    .argument('<ref>', 'the version to promote, e.g. fraud@1.4.0')
    .description('point a stage (production, staging, canary, …) at a version')
    .requiredOption('--to <stage>', 'the stage to move')
    .option('--reason <text>', 'why, for the audit log')
    .option('--expect <version>', 'only if the stage holds this version now ("none" for an empty stage); else exit 4')
    .option('--allow-prerelease', 'allow a prerelease version into production')
    .option('--new-stage', 'create the stage even though its name is close to an existing one (e.g. prod-eu)')
    .option('--checkout <dir>', 'also materialise the version into DIR and switch DIR/current to it')
    .option('--dry-run', 'say what would happen, change nothing')
    .option(
      '--if-better <metric>',
      'gate: only if the version beats the stage holder on METRIC (both evaluated on --on); else exit 1',
    )
    .option('--on <dataset-ref>', 'with --if-better: the dataset version both evaluations must be on')
    .addOption(gateNumber('--min-delta <d>', 'with --if-better: improve by at least D (metric units)'))
    .option('--slice <name>', 'with --if-better: be better on this slice (repeatable; default: all)', collect)
    .option('--all-slices', 'with --if-better: better on "all", and no slice worse than --max-slice-regression')
    .addOption(
      gateNumber('--max-slice-regression <r>', 'with --all-slices: how much worse any slice may get (default 0)'),
    )
    .option(
      '--eval-cmd <command>',
      'with --if-better: first run this evaluation command (as eval run) for whichever side lacks the evaluation',
    )
    .addOption(
      durationOption(
        '--eval-timeout <duration>',
        'with --eval-cmd: stop the command after this long (600, 10m; plain numbers are seconds)',
        { code: 'E_BAD_TIMEOUT' },
      ),
    )
    .option('--force', 'override the stage order of the registry config (logged in the event)')
    .addHelpText(
      'after',
      examples(
        'mlreg promote fraud@1.4.0 --to production --reason "beats 1.3.2 on holdout"',
        'mlreg promote fraud@1.4.0 --to production --expect 1.3.2 --json',
        'mlreg promote fraud@1.4.0 --to production --checkout /srv/fraud',
        'mlreg promote fraud@1.4.0 --to production --if-better auc --on holdout@latest --min-delta 0.002',
        'mlreg promote fraud@1.4.0 --to production --if-better auc --on holdout@latest --all-slices --max-slice-regression 0.01',
        'mlreg promote fraud@1.4.0 --to production --if-better auc --on holdout@latest --eval-cmd "python eval.py {model} {dataset}"',
      ),
    )
    .action(
      action<PromoteOpts>(async (ctx, [ref], opts) => {
        const gate = gateSpec(opts);
        const { promoteGated } = await import('../../core/stages/gated-promote.js');
        const reg = ctx.registry();
        const { whenCommitted } = await import('../../core/registry/registry.js');
        const actor = ctx.actor();
        let prepared: PreparedCheckout | undefined;
        if (opts.checkout && !opts.dryRun) {
          const { prepareCheckout } = await import('../../core/versions/checkout.js');
          prepared = await prepareCheckout(reg, ref!, opts.checkout);
        }
        let move: GatedMove;
        let checkout: CheckoutResult | undefined;
        try {
          move = await promoteGated(reg, {
            ref: prepared ? `${prepared.version.name}@${prepared.version.version}` : ref!,
            stage: opts.to,
            actor,
            reason: opts.reason,
            expect: opts.expect,
            dryRun: opts.dryRun,
            allowPrerelease: opts.allowPrerelease,
            newStage: opts.newStage,
            gate,
            force: opts.force,
            evalCommand: opts.evalCmd
              ? {
                  command: opts.evalCmd,
                  timeoutMs: opts.evalTimeout,
                  env: ctx.env,
                  cwd: ctx.cwd,
                  onStderr: (chunk) => ctx.io.stderr.write(chunk),
                }
              : undefined,
          });
        } catch (err) {
          if (err instanceof GateNotMetError && err.details)
            return failWithReport(
              ctx.json,
              err.details as Parameters<typeof renderGateFailure>[0],
              renderGateFailure,
              err,
            );
          throw err;
        }
        // DIR/current follows the index: switched only once the move committed (on a replica, once
        // the remote took it), so it never serves a version the stage did not hold.
        if (prepared && opts.checkout) {
          const { switchAfterCommit } = await import('../../core/versions/checkout.js');
          const ready = prepared;
          const dir = opts.checkout;
          whenCommitted(reg, () => void (checkout = switchAfterCommit(reg, ready, dir, move)));
        }
        // `checkout` is read when the result is printed: on a replica the switch happens after the commit.
        return result(
          Object.defineProperty({ ...move }, 'checkout', { enumerable: true, get: () => checkout }) as GatedMove & {
            checkout?: CheckoutResult;
          },
          renderMove,
        );
      }),
    );
}

/** A gate threshold: a number ≥ 0 in the metric's own units. */
function gateNumber(flags: string, description: string) {
  return numberOption(flags, description, { min: 0, code: 'E_BAD_GATE', example: '0.005' });
}

/** Check the gate options' combinations before anything is opened (their numbers are parsed by options.ts). */
function gateSpec(opts: PromoteOpts): GateSpec | undefined {
  const gateOnly = (
    ['on', 'minDelta', 'slice', 'allSlices', 'maxSliceRegression', 'evalCmd', 'evalTimeout'] as const
  ).filter((k) => opts[k] !== undefined);
  if (opts.ifBetter === undefined) {
    if (gateOnly.length) {
      const flag = gateOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw new UsageError(`--${flag} goes with --if-better METRIC --on DATASET_REF`, {
        code: 'E_BAD_GATE',
        hint: 'e.g. mlreg promote fraud@1.4.0 --to production --if-better auc --on holdout@latest',
      });
    }
    return undefined;
  }
  if (opts.on === undefined)
    throw new UsageError('--if-better needs --on DATASET_REF: the dataset both versions were evaluated on', {
      code: 'E_BAD_GATE',
      hint: 'e.g. --if-better auc --on holdout@latest',
    });
  return {
    metric: opts.ifBetter,
    dataset: opts.on,
    minDelta: opts.minDelta,
    slices: opts.slice,
    allSlices: opts.allSlices,
    maxSliceRegression: opts.maxSliceRegression,
  };
}

export function renderMove(
  m: StageMove & {
    checkout?: CheckoutResult;
    skipped?: { version: string; why: string }[];
    gate?: GatedMove['gate'];
    policy?: GatedMove['policy'];
  },
  ui: Ui,
  verb = 'Promoted',
): string {
  const arrow = `${m.from ?? '(none)'} → ${m.to}`;
  let out = '';
  if (m.gate) out += renderGate(m.gate, ui) + '\n';
  if (m.policy) out += renderPolicy(m.policy, ui) + '\n';
  if (m.dryRun) out += `${ui.c.yellow('Dry run:')} would move ${m.name}@${m.stage}: ${arrow}`;
  else if (!m.changed) out += `${m.name}@${m.stage} already holds ${m.to}; nothing changed`;
  else
    out += `${ui.c.green(verb)} ${ui.c.bold(m.name)}@${ui.c.cyan(m.stage)}: ${arrow}  by ${m.actor}${m.reason ? `: ${m.reason}` : ''}`;
  if (m.skipped?.length) out += `\n  skipped ${m.skipped.map((s) => `${s.version} (${s.why})`).join(', ')}`;
  if (m.checkout)
    out += `\n  ${m.checkout.current} → versions/${m.checkout.version}${m.checkout.reused ? ' (already materialised)' : ''}`;
  return out;
}
