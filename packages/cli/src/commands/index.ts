import type { Command } from "../command.ts";
import { demoCommand } from "./demo.ts";

/** Every command of the CLI, one file each. */
export const commands: Command[] = [demoCommand];
