/** Every CLI command, one module each. Add a command by appending its `register` here. */
import type { Command } from 'commander';
import { register as init } from './init.js';
import { register as check } from './check.js';
import { register as evaluate } from './eval.js';
import { register as up } from './up.js';
import { register as demo } from './demo.js';
import { register as load } from './load.js';
import { register as simulate } from './simulate.js';
import { register as adminCommands } from './admin-commands.js';
import { register as llmSim } from './llm-sim.js';
import { register as keys } from './keys.js';
import { register as usage } from './usage.js';

/** Registers one command on the program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  init,
  check,
  evaluate,
  up,
  demo,
  load,
  simulate,
  adminCommands,
  llmSim,
  keys,
  usage,
];
