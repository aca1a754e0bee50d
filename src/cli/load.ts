/**
 * `tsbpf load <object.o> [--pin DIR]`: load every map and every program that loads by default,
 * without attaching. Exit 0 when everything loads; otherwise exit 1 with one line per failure
 * naming the map or program and the reason, followed by the last lines of the verifier log.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Collection } from "../collection/collection.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import { isTsbpfError, isVerifierError } from "../errors.js";
import type { Command } from "./command.js";

const LOG_TAIL = 5;

/** A bpffs-safe file name (bpffs refuses dots). */
function pinName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^_+/, "") || "map";
}

function reason(e: unknown): string {
  if (isVerifierError(e)) {
    const first = e.message.split("\n")[0];
    const tail = e.log.slice(-LOG_TAIL).map((l) => `    ${l}`);
    return [first, ...tail].join("\n");
  }
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}

export const command: Command = {
  usage: "load <object.o> [--pin DIR]",
  summary: "load every map and default program of a BPF object without attaching (exit 1 naming each failure)",
  run(args: string[]): number {
    let pinDir: string | undefined;
    const files: string[] = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--pin") {
        pinDir = args[++i];
        if (!pinDir) {
          console.error(`usage: tsbpf ${command.usage}`);
          return 2;
        }
      } else if (args[i].startsWith("-")) {
        console.error(`tsbpf load: unknown option ${args[i]}\nusage: tsbpf ${command.usage}`);
        return 2;
      } else files.push(args[i]);
    }
    if (files.length !== 1) {
      console.error(`usage: tsbpf ${command.usage}`);
      return 2;
    }
    let spec: CollectionSpec;
    try {
      spec = CollectionSpec.fromFile(files[0]);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!isTsbpfError(e) && code) {
        console.error(`tsbpf load: cannot read ${files[0]}: ${code}`);
        return 1;
      }
      throw e;
    }

    const failures: string[] = [];
    // Maps first, in one collection; then each program on its own so every failure is reported.
    let maps: Collection;
    try {
      maps = Collection.load(spec, { programs: [], ...(pinDir ? { pinPath: pinDir } : {}) });
    } catch (e) {
      if (!isTsbpfError(e)) throw e;
      console.error(`tsbpf load: ${reason(e)}`);
      return 1;
    }
    const loaded: Collection[] = [maps];
    try {
      if (pinDir) mkdirSync(pinDir, { recursive: true });
      let programs = 0;
      for (const name of spec.autoloadPrograms) {
        try {
          const c = Collection.load(spec, { programs: [name], maps: maps.maps });
          loaded.push(c);
          programs++;
          if (pinDir) c.programs[name].pin(join(pinDir, pinName(name)));
        } catch (e) {
          if (!isTsbpfError(e)) throw e;
          failures.push(reason(e));
        }
      }
      if (pinDir && failures.length === 0) {
        for (const [key, m] of Object.entries(maps.maps)) {
          if (m.pinnedPath) continue; // pinned by name already
          try {
            m.pin(join(pinDir, pinName(key)));
          } catch (e) {
            if (!isTsbpfError(e)) throw e;
            failures.push(`map "${key}": pin: ${reason(e)}`);
          }
        }
      }
      if (failures.length) {
        for (const f of failures) console.error(`tsbpf load: ${f}`);
        return 1;
      }
      console.log(`loaded ${Object.keys(maps.maps).length} maps and ${programs} programs from ${files[0]}${pinDir ? `, pinned under ${pinDir}` : ""}`);
      return 0;
    } finally {
      for (const c of loaded) c.close();
    }
  },
};
