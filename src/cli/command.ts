/** The shape of one `tsbpf` subcommand: each file of src/cli/ exports one as `command`. */
export interface Command {
  /** One line of usage, e.g. "disasm <object.o> [--section NAME]". */
  usage: string;
  summary: string;
  run(args: string[]): Promise<number> | number;
}
