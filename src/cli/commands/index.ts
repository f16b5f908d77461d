import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every command, in the order `mlreg --help` lists them, by name (and alias), with a loader. Only
 * the module of the command being run is loaded (all of them for help), and a command module only
 * declares its options: it imports core, renderers and anything heavy inside its run function. So
 * `mlreg rollback` loads what rollback needs and nothing else.
 */
export const COMMAND_LOADERS: { name: string; aliases?: string[]; load: () => Promise<Register> }[] = [
  { name: 'init', load: async () => (await import('./init.js')).register },
  { name: 'add', load: async () => (await import('./add.js')).register },
  { name: 'list', aliases: ['ls'], load: async () => (await import('./list.js')).register },
  { name: 'show', load: async () => (await import('./show.js')).register },
  { name: 'promote', load: async () => (await import('./promote.js')).register },
  { name: 'rollback', load: async () => (await import('./rollback.js')).register },
  { name: 'history', load: async () => (await import('./history.js')).register },
  { name: 'compare', load: async () => (await import('./compare.js')).register },
  { name: 'checkout', load: async () => (await import('./checkout.js')).register },
  { name: 'scan', load: async () => (await import('./scan.js')).register },
  { name: 'check', load: async () => (await import('./check.js')).register },
  { name: 'profile', load: async () => (await import('./profile.js')).register },
  { name: 'eval', load: async () => (await import('./eval.js')).register },
  { name: 'monitor', load: async () => (await import('./monitor/group.js')).register },
  { name: 'review', load: async () => (await import('./review.js')).register },
  { name: 'deprecate', load: async () => (await import('./deprecate.js')).register },
  { name: 'undeprecate', load: async () => (await import('./undeprecate.js')).register },
  { name: 'delete', load: async () => (await import('./delete.js')).register },
  { name: 'gc', load: async () => (await import('./gc.js')).register },
  { name: 'verify', load: async () => (await import('./verify.js')).register },
  { name: 'backup', load: async () => (await import('./backup.js')).register },
  { name: 'restore', load: async () => (await import('./restore.js')).register },
  { name: 'config', load: async () => (await import('./config.js')).register },
  { name: 'webhook', load: async () => (await import('./webhook.js')).register },
  { name: 'clone', load: async () => (await import('./clone.js')).register },
  { name: 'pull', load: async () => (await import('./pull.js')).register },
  { name: 'remote', load: async () => (await import('./remote.js')).register },
  { name: 'ui', load: async () => (await import('./ui.js')).register },
];
