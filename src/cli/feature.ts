/**
 * `tsbpf feature probe [kernel] [full] [--json] [--pretty]`: what the running kernel supports,
 * with the answers and (with --json) the document shape of `bpftool feature probe kernel`, then
 * tsbpf's own probes (links, tracing targets, BTF kinds, misc) with their minimum kernels. A
 * refusal (EPERM from missing privilege, a sandbox or an LSM) is said as such, not as "missing".
 */
import { bpftoolReport, probeAll, type ProbeFamily, type ProbeResult } from "../features/index.js";
import type { LegacyCommand as Command } from "./command.js";

const USAGE = "feature probe [kernel] [full] [--json] [--pretty]";

const FAMILY_TITLES: Record<Exclude<ProbeFamily, "syscall" | "program_types" | "map_types">, string> = {
  map_flags: "map flags",
  isa: "instruction set",
  btf: "BTF",
  links: "link kinds",
  tracing: "tracing attach types",
  misc: "other features",
};

const SYSCTL_TEXT: Record<string, (v: number) => string> = {
  unprivileged_bpf_disabled: (v) =>
    ({ 0: "bpf() syscall for unprivileged users is enabled", 1: "bpf() syscall restricted to privileged users (without recovery)", 2: "bpf() syscall restricted to privileged users (admin can change)", [-1]: "Unable to retrieve required privileges for bpf() syscall" })[v] ??
    `bpf() syscall restriction has unknown value ${v}`,
  bpf_jit_enable: (v) =>
    ({ 0: "JIT compiler is disabled", 1: "JIT compiler is enabled", 2: "JIT compiler is enabled with debugging traces in kernel logs", [-1]: "Unable to retrieve JIT-compiler status" })[v] ??
    `JIT-compiler status has unknown value ${v}`,
  bpf_jit_harden: (v) =>
    ({ 0: "JIT compiler hardening is disabled", 1: "JIT compiler hardening is enabled for unprivileged users", 2: "JIT compiler hardening is enabled for all users", [-1]: "Unable to retrieve JIT hardening status" })[v] ??
    `JIT hardening status has unknown value ${v}`,
  bpf_jit_kallsyms: (v) =>
    ({ 0: "JIT compiler kallsyms exports are disabled", 1: "JIT compiler kallsyms exports are enabled for root", [-1]: "Unable to retrieve JIT kallsyms export status" })[v] ??
    `JIT kallsyms exports status has unknown value ${v}`,
  bpf_jit_limit: (v) => (v === -1 ? "Unable to retrieve global memory limit for JIT compiler for unprivileged users" : `Global memory limit for JIT compiler for unprivileged users is ${v} bytes`),
};

function why(r: ProbeResult): string {
  if (r.status === "refused") return ` (refused: ${r.detail ?? r.errno})`;
  return "";
}

function status(r: ProbeResult): string {
  return r.status === "supported" ? "available" : "NOT available";
}

/** The report as bpftool's plain text, with refusals explained, then tsbpf's own probes. */
export function formatFeatureText(full: boolean): string {
  const report = bpftoolReport({ full });
  const all = probeAll();
  const out: string[] = ["Scanning system configuration..."];
  for (const [k, v] of Object.entries(report.system_config)) {
    const text = SYSCTL_TEXT[k];
    if (text) out.push(text(v as number));
    else out.push(v === null ? `${k} is not set` : `${k} is set to ${v}`);
  }
  out.push("", "Scanning system call availability...", `bpf() syscall is ${report.syscall_config.have_bpf_syscall ? "" : "NOT "}available`);
  if (!report.program_types) return out.join("\n");
  out.push("", "Scanning eBPF program types...");
  for (const r of all.program_types) out.push(`eBPF program_type ${r.feature.replace("program type ", "")} is ${status(r)}${why(r)}`);
  out.push("", "Scanning eBPF map types...");
  for (const r of all.map_types) out.push(`eBPF map_type ${r.feature.replace("map type ", "")} is ${status(r)}${why(r)}`);
  out.push("", "Scanning eBPF helper functions...");
  for (const [key, names] of Object.entries(report.helpers ?? {})) {
    const type = key.replace(/_available_helpers$/, "");
    out.push(`eBPF helpers supported for program type ${type}:${names.map((n) => `\n\t- ${n}`).join("")}`);
  }
  out.push("", "Scanning miscellaneous eBPF features...");
  const m = report.misc ?? {};
  const miscNames: Record<string, string> = {
    have_large_insn_limit: "Large program size limit",
    have_bounded_loops: "Bounded loop support",
    have_v2_isa_extension: "ISA extension v2",
    have_v3_isa_extension: "ISA extension v3",
    have_v4_isa_extension: "ISA extension v4",
  };
  for (const [k, v] of Object.entries(m)) out.push(`${miscNames[k] ?? k} is ${v ? "" : "NOT "}available`);
  for (const [family, title] of Object.entries(FAMILY_TITLES) as [keyof typeof FAMILY_TITLES, string][]) {
    out.push("", `Scanning ${title} (tsbpf)...`);
    for (const r of all[family]) out.push(`${r.feature} is ${status(r)} (Linux ${r.minKernel}+)${why(r) || (r.status === "unsupported" && r.detail ? ` (${r.detail})` : "")}`);
  }
  return out.join("\n");
}

export const command: Command = {
  usage: USAGE,
  summary: "probe what the running kernel supports (bpftool feature probe's answers and JSON keys)",
  description: "`probe` (or `probe kernel`) prints bpftool's plain-text report, then tsbpf's own probes; `full` adds\nthe helpers of every program type.",
  options: {
    json: { type: "boolean", short: "j", description: "print bpftool feature probe's JSON document" },
    pretty: { type: "boolean", short: "p", description: "print it indented (implies --json)" },
  },
  run(args) {
    const [sub, ...rest] = args;
    if (sub !== "probe") {
      console.error(`usage: tsbpf ${USAGE}`);
      return 2;
    }
    let json = false;
    let pretty = false;
    let full = false;
    for (const a of rest) {
      if (a === "--json" || a === "-j") json = true;
      else if (a === "--pretty" || a === "-p") json = pretty = true;
      else if (a === "full") full = true;
      else if (a === "kernel") continue;
      else {
        console.error(`tsbpf feature probe: unknown argument "${a}"\nusage: tsbpf ${USAGE}`);
        return 2;
      }
    }
    if (json) console.log(JSON.stringify(bpftoolReport({ full }), null, pretty ? 4 : undefined));
    else console.log(formatFeatureText(full));
    return 0;
  },
};
