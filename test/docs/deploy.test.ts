/**
 * docs/deploy.md: the manifests are valid Kubernetes objects (checked against the API schema by
 * kubernetes-models), ask for capabilities instead of privilege, and the upgrade example runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { promisedOutput, repoRoot, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const manifest = (name: string) => readFileSync(join(repoRoot, "docs/deploy", name), "utf8");

describe("docs/deploy manifests", () => {
  const docs = parseAllDocuments(manifest("daemonset.yaml")).map((d) => d.toJS() as Record<string, unknown>);

  it("is one DaemonSet that the Kubernetes API schema accepts", () => {
    expect(docs.map((d) => d.kind)).toEqual(["DaemonSet"]);
    expect(() => new DaemonSet(docs[0] as never).validate()).not.toThrow();
  });

  it("the schema check really checks: a broken DaemonSet is refused", () => {
    const broken = structuredClone(docs[0]) as { spec: { template?: unknown } };
    delete broken.spec.template;
    expect(() => new DaemonSet(broken as never).validate()).toThrow(/template/);
  });

  it("asks for capabilities, not privilege, and mounts bpffs from the node", () => {
    const spec = (docs[0] as { spec: { template: { spec: Record<string, any> } } }).spec.template.spec;
    const c = spec.containers[0];
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.capabilities.drop).toEqual(["ALL"]);
    expect(c.securityContext.capabilities.add).toEqual(expect.arrayContaining(["BPF", "PERFMON", "NET_ADMIN"]));
    const bpffs = spec.volumes.find((v: { name: string }) => v.name === "bpffs");
    expect(bpffs.hostPath.path).toBe("/sys/fs/bpf");
    expect(c.volumeMounts.find((m: { name: string }) => m.name === "bpffs").mountPropagation).toBe("HostToContainer");
  });

  it("the Dockerfile runs without --privileged and names the same capabilities", () => {
    const dockerfile = manifest("Dockerfile");
    expect(dockerfile).not.toMatch(/--privileged/);
    for (const cap of ["BPF", "PERFMON", "NET_ADMIN"]) expect(dockerfile).toContain(`--cap-add ${cap}`);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });
});

describeKernel("docs/deploy.md", () => {
  const blocks = tsBlocks("docs/deploy.md");
  itKernel("the rolling-upgrade example swaps the program of a pinned link and prints what it promises", () => {
    expect(blocks).toHaveLength(1);
    expect(runExample(blocks[0]!).trim().split("\n")).toEqual(promisedOutput(blocks[0]!));
  }, 60_000);
});
