/** The version `tsbpf gen` writes in its header: the package's (a test checks they agree). */
export const GEN_VERSION = "0.1.0";
