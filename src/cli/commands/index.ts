/** Every CLI command, one module each. Add a command by appending its `register` here. */
import type { Command } from 'commander';

/** Registers one command on the program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
