/** Re-exports the kernel test helpers and vitest's it, for link tests. */
export { describeKernel, itKernel } from "../helpers/kernel.js";
export { it } from "vitest";
