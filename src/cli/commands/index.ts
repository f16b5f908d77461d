import type { Command } from 'commander';
import { register as add } from './add.js';
import { register as backup } from './backup.js';
import { register as check } from './check.js';
import { register as checkout } from './checkout.js';
import { register as compare } from './compare.js';
import { register as config } from './config.js';
import { register as deleteCmd } from './delete.js';
import { register as deprecate } from './deprecate.js';
import { register as evalCommand } from './eval.js';
import { register as gc } from './gc.js';
import { register as history } from './history.js';
import { register as init } from './init.js';
import { register as list } from './list.js';
import { register as promote } from './promote.js';
import { register as restore } from './restore.js';
import { register as rollback } from './rollback.js';
import { register as show } from './show.js';
import { register as undeprecate } from './undeprecate.js';
import { register as verify } from './verify.js';

/**
 * Every command, in the order `mlreg --help` lists them. A command module only declares its
 * options; it imports core (and anything heavy) inside its run function, so start-up stays fast.
 */
export const COMMANDS: ((program: Command) => void)[] = [
  init, add, list, show, promote, rollback, history, compare, check, checkout, evalCommand,
  deprecate, undeprecate, deleteCmd, gc, verify, backup, restore, config,
];
