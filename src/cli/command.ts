import type { Command } from 'commander';
import type { ExitCodeValue } from '../core/errors.js';
import { type CliIo, Context, type GlobalOptions } from './context.js';
import { type CommandResult, emitResult, FailureWithReport } from './output.js';
import { nameTheFlag } from './options.js';

/**
 * A command is its commander definition (options, help, examples) plus a run function that parses
 * what it was given, calls core, and returns plain data with an optional renderer. `action` wires the
 * run function: builds the Context, prints through the output module, closes the registry.
 */
export type RunFn<O> = (ctx: Context, args: string[], opts: O) => Promise<CommandResult>;

/** One run of the CLI: its IO, its command line and, once the command has printed, its exit code. */
export interface RunState {
  io: CliIo;
  argv: readonly string[];
  exitCode?: ExitCodeValue;
  /** Webhook deliveries of a change committed before the command failed, for the error document. */
  webhooks?: unknown[];
}

// Keyed by the program object, which every run builds afresh: nothing of one run reaches the next.
const runs = new WeakMap<Command, RunState>();

export function attachRun(program: Command, state: RunState): void {
  runs.set(program, state);
}

function runOf(cmd: Command): RunState {
  let root = cmd;
  while (root.parent) root = root.parent;
  const state = runs.get(root);
  if (!state) throw new Error('a command ran outside runCli');
  return state;
}

/**
 * The context of the run a command belongs to, for the few commands that drive their own output
 * (`mlreg ui` prints its address, then serves until stopped) instead of returning one result.
 */
export function contextOf(cmd: Command): Context {
  const state = runOf(cmd);
  return new Context(cmd.optsWithGlobals() as GlobalOptions, state.io, state.argv);
}

export function action<O>(run: RunFn<O>): (...all: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.opts() as O;
    const args = (all.slice(0, -2) as (string | string[] | undefined)[]).flatMap((a) => (a === undefined ? [] : a));
    const state = runOf(cmd);
    const ctx = new Context(cmd.optsWithGlobals() as GlobalOptions, state.io, state.argv);
    try {
      const { runOnReplica } = await import('./replica.js');
      let result: CommandResult;
      try {
        result = await runOnReplica(ctx, commandPath(cmd), () => run(ctx, args, opts));
      } catch (err) {
        // A command can fail after committing a change (a monitoring rule fired: the alert is recorded).
        state.webhooks = await announce(ctx);
        throw err;
      }
      const webhooks = await announce(ctx);
      state.exitCode = await emitResult(webhooks ? { ...result, webhooks } : result, ctx.io, ctx.json);
    } catch (err) {
      // Core says what is wrong; the flag the user typed is put in front here.
      if (!(err instanceof FailureWithReport)) throw nameTheFlag(err, cmd);
      await emitResult(err.report, ctx.io, false);
      throw nameTheFlag(err.error, cmd);
    } finally {
      ctx.close();
    }
  };
}

/** Webhooks of what the command committed, delivered after the commit (see webhooks.ts); loaded only when there is a change. */
async function announce(ctx: Context): Promise<unknown[] | undefined> {
  if (!ctx.openedRegistry()?.committedChanges.length) return undefined;
  const { announceChanges } = await import('./webhooks.js');
  return announceChanges(ctx);
}

/** The command's words after `mlreg`: `add`, `eval record`. */
function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

/** "Examples:" help text in the same layout for every command. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Collect a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
