// Commands the agent runs itself instead of spawning a program. The
// coordinator checks campaign files against them; the agent recognises them
// in a lease.

/** `command: ["orrery:noop"]`: stage nothing, run nothing, report success (health checks, benchmarks). */
export const NOOP_COMMAND = "orrery:noop";

/** Programs starting with this prefix are built in, never looked up on disk. */
export const BUILTIN_PREFIX = "orrery:";

export function isNoopCommand(command: readonly string[]): boolean {
  return command.length === 1 && command[0] === NOOP_COMMAND;
}

/** Why a command naming a built-in is not one, or undefined when it is fine (built in or not). */
export function builtinCommandProblem(command: readonly string[]): string | undefined {
  const program = command[0];
  if (program === undefined || !program.startsWith(BUILTIN_PREFIX)) return undefined;
  if (program !== NOOP_COMMAND) return `${program} is not a built-in command; the built-in is ${NOOP_COMMAND}`;
  if (command.length > 1) return `${NOOP_COMMAND} takes no arguments`;
  return undefined;
}
