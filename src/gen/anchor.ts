/**
 * Prefix of the unused variables `tsbpf gen --cc` adds to the build so that `--type` types reach
 * BTF (clang writes BTF only for types globals and functions use); bindings leave them out.
 */
export const TYPE_ANCHOR_PREFIX = "__tsbpf_type_";
