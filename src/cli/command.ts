import type { Command } from 'commander';
import { Context, type GlobalOptions } from './context.js';
import { emitResult, type CommandResult } from './output.js';
import { nameTheFlag } from './options.js';

/**
 * A command is its commander definition (options, help, examples) plus a run function that parses
 * what it was given, calls core, and returns plain data with an optional renderer. `action` wires the
 * run function: builds the Context, prints through the output module, closes the registry.
 */
export type RunFn<O> = (ctx: Context, args: string[], opts: O) => Promise<CommandResult>;

export function action<O>(run: RunFn<O>): (...all: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.opts() as O;
    const args = (all.slice(0, -2) as (string | string[] | undefined)[]).flatMap((a) => (a === undefined ? [] : a));
    const ctx = new Context(cmd.optsWithGlobals() as GlobalOptions);
    try {
      const result = await run(ctx, args, opts).catch((err: unknown) => {
        throw nameTheFlag(err, cmd);
      });
      await emitResult(result, ctx.json);
    } finally {
      ctx.close();
    }
  };
}

/** "Examples:" help text in the same layout for every command. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Collect a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
