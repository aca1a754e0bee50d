/**
 * lirc_mode2 programs (IR decoders, Linux 4.18): BPF_PROG_ATTACH to an open `/dev/lircN`
 * device. There is no link kind for them; close detaches.
 */
import { ATTACH_TYPES } from "../spec/program-type.js";
import { openPath } from "../sys/fd.js";
import { checkOptions } from "../errors.js";
import { expectProgramType, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { progAttachLink } from "./prog-attach.js";

/** Options of `attachLircMode2`. */
export interface LircMode2Options {
  /** The lirc device: a path (`"/dev/lirc0"`, opened for the Link's lifetime). */
  device: string;
}

/**
 * Attach a lirc_mode2 program to a lirc device. Min kernel 4.18 (CONFIG_BPF_LIRC_MODE2).
 * Throws TypeError, SyscallError (opening the device), BpfError.
 */
export function attachLircMode2(program: AttachProgram<"lirc_mode2">, options: LircMode2Options): Link {
  checkOptions("attachLircMode2", options, ["device"]);
  if (typeof options.device !== "string" || !options.device.startsWith("/")) throw new TypeError("attachLircMode2: device must be an absolute path such as /dev/lirc0");
  expectProgramType(program, "lircMode2", "attachLircMode2");
  const progFd = programFd(program, "attachLircMode2: program");
  const label = `lirc_mode2 ${programLabel(program)} on ${options.device}`;
  return progAttachLink({
    label,
    progFd,
    target: openPath(options.device, 2 /* O_RDWR */),
    attachType: ATTACH_TYPES.lirc_mode2,
    goneOnDetach: ["ENOENT"],
    info: (query) => ({ type: "prog_attach", attachType: "lirc_mode2", programIds: query().progIds }),
  });
}
