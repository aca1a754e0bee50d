/**
 * `tsbpf load <object.o> [--pin DIR]`: load every map and every program that loads by default,
 * without attaching. Exit 0 when everything loads; otherwise exit 1 with one line per failure
 * naming the map or program and the reason, followed by the last lines of the verifier log.
 * With `--pin`, every program and map is pinned under DIR by the rule of pin-names.ts; when a
 * pin fails, what this run pinned is removed again.
 */
import { mkdirSync, rmdirSync, unlinkSync, existsSync } from "node:fs";
import { basename, join } from "node:path";
import { Collection } from "../collection/collection.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import { isTsbpfError, isVerifierError, TsbpfError } from "../errors.js";
import { kernelProgramName } from "../spec/program-spec.js";
import { arg, noMoreArgs, str, type Command } from "./command.js";
import { pinNames, type PinSubject } from "./pin-names.js";

const LOG_TAIL = 5;

/** Thrown inside run() once the failures are printed: undo, then exit 1. */
const REPORTED = Symbol("reported");

function reason(e: unknown): string {
  if (isVerifierError(e)) {
    const first = e.message.split("\n")[0];
    const tail = e.log.slice(-LOG_TAIL).map((l) => `    ${l}`);
    return [first, ...tail].join("\n");
  }
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}

/** A program's name for messages: the full name, and the kernel's when it is truncated. */
export function programLabel(name: string): string {
  const k = kernelProgramName(name);
  return k === name ? `program "${name}"` : `program "${name}" (kernel name "${k}")`;
}

export const command: Command = {
  summary: "load every map and default program of a BPF object without attaching (exit 1 naming each failure)",
  args: "<object.o>",
  description: [
    "Loads the maps, then each program on its own so that every failure is reported. With --pin DIR",
    "each program and map is pinned as DIR/<name>: the full name, one leading dot dropped, other",
    "characters outside [A-Za-z0-9_-] turned into _, and a _prog/_map suffix for the one of two",
    "objects whose names then collide (the map .kconfig beside the program kconfig is kconfig_map).",
    "If anything fails, the pins of this run are removed again.",
  ].join("\n"),
  options: { pin: { type: "string", value: "DIR", description: "pin every program and map under DIR (on bpffs)" } },
  examples: ["tsbpf load bpf/xdp_tail.o", "tsbpf load bpf/global_data.o --pin /sys/fs/bpf/myapp"],
  run(ctx) {
    const file = arg(ctx, 0, "<object.o>");
    noMoreArgs(ctx, 1);
    const pinDir = str(ctx, "pin");
    const spec = CollectionSpec.fromFile(file);

    const failures: string[] = [];
    // Maps first, in one collection; then each program on its own so every failure is reported.
    let maps: Collection;
    try {
      maps = Collection.load(spec, { programs: [], ...(pinDir ? { pinPath: pinDir } : {}) });
    } catch (e) {
      if (!isTsbpfError(e)) throw e;
      throw new TsbpfError(reason(e).split("\n")[0]);
    }
    const loaded: Collection[] = [maps];
    const pinnedHere: string[] = [];
    const pinOf = new Map<string, string>();
    const madeDir = pinDir !== undefined && !existsSync(pinDir);
    try {
      const programs = new Map<string, Collection>();
      for (const name of spec.autoloadPrograms) {
        try {
          const c = Collection.load(spec, { programs: [name], maps: maps.maps });
          loaded.push(c);
          programs.set(name, c);
        } catch (e) {
          if (!isTsbpfError(e)) throw e;
          failures.push(reason(e));
        }
      }
      if (failures.length === 0 && pinDir) {
        mkdirSync(pinDir, { recursive: true });
        const fixed = Object.values(maps.maps).filter((m) => m.pinnedPath).map((m) => basename(m.pinnedPath!));
        const subjects: PinSubject[] = [
          ...[...programs.keys()].map((name) => ({ kind: "prog" as const, name })),
          ...Object.entries(maps.maps).filter(([, m]) => !m.pinnedPath).map(([name]) => ({ kind: "map" as const, name })),
          // Maps pinned by name (pinning: by_name) keep their file: reserve it.
          ...fixed.map((name) => ({ kind: "map" as const, name: `\0fixed:${name}` })),
        ];
        const names = pinNames(subjects.filter((s) => !s.name.startsWith("\0")));
        const taken = new Set(fixed);
        for (const s of subjects) {
          if (s.name.startsWith("\0")) continue;
          let file = names.get(`${s.kind}:${s.name}`)!;
          while (taken.has(file)) file = `${file}_${s.kind}`;
          taken.add(file);
          const path = join(pinDir, file);
          try {
            if (s.kind === "prog") programs.get(s.name)!.programs[s.name].pin(path);
            else maps.maps[s.name].pin(path);
            pinnedHere.push(path);
            pinOf.set(`${s.kind}:${s.name}`, path);
          } catch (e) {
            if (!isTsbpfError(e)) throw e;
            failures.push(`${s.kind === "prog" ? programLabel(s.name) : `map "${s.name}"`}: pin as ${path}: ${reason(e)}`);
            break;
          }
        }
      }
      if (failures.length) {
        // One line per failure (with the verifier log's tail under it), then undo the pins.
        for (const f of failures) ctx.warn(`tsbpf load: ${f}`);
        throw REPORTED;
      }
      if (ctx.json) {
        for (const [key, m] of Object.entries(maps.maps)) if (m.pinnedPath && !pinOf.has(`map:${key}`)) pinOf.set(`map:${key}`, m.pinnedPath);
        const pinned = (k: string) => (pinOf.has(k) ? { pinned: pinOf.get(k) } : {});
        ctx.printJson({
          file,
          programs: [...programs].map(([name, c]) => ({ name, kernelName: kernelProgramName(name), id: c.programs[name].info().id, ...pinned(`prog:${name}`) })),
          maps: Object.entries(maps.maps).map(([name, m]) => ({ name, id: m.id, ...pinned(`map:${name}`) })),
        });
      } else {
        ctx.out(`loaded ${Object.keys(maps.maps).length} maps and ${programs.size} programs from ${file}${pinDir ? `, pinned under ${pinDir}` : ""}`);
      }
      return 0;
    } catch (e) {
      // Leave bpffs as it was: remove the pins of this run (maps pinned by name included).
      for (const p of pinnedHere) {
        try {
          unlinkSync(p);
        } catch {
          // already gone
        }
      }
      if (madeDir && pinDir) {
        try {
          rmdirSync(pinDir);
        } catch {
          // not empty (maps pinned by name stay, as Collection decides): leave it
        }
      }
      if (e === REPORTED) return 1;
      throw e;
    } finally {
      for (const c of loaded) c.close();
    }
  },
};
