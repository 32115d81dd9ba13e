import type { Command } from "../command.ts";

/** Every command of the CLI, one file each. */
export const commands: Command[] = [];
