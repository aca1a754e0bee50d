/**
 * lirc_mode2 programs (IR decoders, Linux 4.18): BPF_PROG_ATTACH to an open `/dev/lircN`
 * device. There is no link kind for them; close detaches.
 */
import { BpfError } from "../errors.js";
import { ATTACH_TYPES } from "../program/program-type.js";
import { progAttach, progDetach, progQuery } from "../sys/link-attr.js";
import { openPath } from "../sys/netlink.js";
import { CallbackLink, checkOptions, dupFd, programFd, programLabel, type AttachProgram, type Link } from "./link.js";

/** Options of `attachLircMode2`. */
export interface LircMode2Options {
  /** The lirc device: a path (`"/dev/lirc0"`, opened for the Link's lifetime). */
  device: string;
}

/**
 * Attach a lirc_mode2 program to a lirc device. Min kernel 4.18 (CONFIG_BPF_LIRC_MODE2).
 * Throws TypeError, SyscallError (opening the device), BpfError.
 */
export function attachLircMode2(program: AttachProgram, options: LircMode2Options): Link {
  checkOptions("attachLircMode2", options, ["device"]);
  if (typeof options.device !== "string" || !options.device.startsWith("/")) throw new TypeError("attachLircMode2: device must be an absolute path such as /dev/lirc0");
  const progFd = programFd(program, "attachLircMode2: program");
  const label = `lirc_mode2 ${programLabel(program)} on ${options.device}`;
  const dev = openPath(options.device, 2 /* O_RDWR */);
  let prog: ReturnType<typeof dupFd>;
  try {
    prog = dupFd(progFd, label);
  } catch (e) {
    dev.close();
    throw e;
  }
  try {
    progAttach({ target: dev.value, progFd, attachType: ATTACH_TYPES.lirc_mode2, flags: 0 }, `${label}: attach`);
  } catch (e) {
    dev.close();
    prog.close();
    throw e;
  }
  return new CallbackLink(
    "prog_attach",
    label,
    () => {
      try {
        progDetach({ target: dev.value, progFd: prog.value, attachType: ATTACH_TYPES.lirc_mode2, flags: 0 }, `${label}: detach`);
      } catch (e) {
        if (!(e instanceof BpfError && e.code === "ENOENT")) throw e;
      }
    },
    () => ({ type: "prog_attach", attachType: "lirc_mode2", programIds: progQuery(dev.value, ATTACH_TYPES.lirc_mode2, 0, `${label}: query`).progIds }),
    [dev, prog],
  );
}
