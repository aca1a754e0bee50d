/**
 * The `attach` namespace: one function per kind, each taking the program and its `XxxOptions`
 * and returning a `Link` (`attach.xdp(prog, { interface: "eth0" })`). Built from the registry
 * in kinds.ts; the same functions are exported by name (`attachXdp`), for tree-shaking and for
 * readers who grep.
 */
import { attachBySection } from "./auto.js";
import { LINK_KINDS } from "./kinds.js";

/** Every attach function by kind. */
export const attach = {
  ...LINK_KINDS,
  /** Where the program's ELF section name says (see attachBySection). */
  bySection: attachBySection,
} as const;
