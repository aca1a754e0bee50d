// Types for the parts of elfy 1.0.0 (untyped CommonJS) that src/elf/elf-file.ts uses.
declare module "elfy" {
  interface ElfySection {
    name: string;
    type: string | number;
    off: number;
    size: number;
    link: number;
    info: number;
    data: Buffer;
  }
  interface ElfyProgram {
    type: string | number;
    offset: number;
    vaddr: number;
    filesz: number;
    memsz: number;
  }
  interface ElfyFile {
    class: "32" | "64";
    endian: "lsb" | "msb";
    body: { programs: ElfyProgram[]; sections: ElfySection[] };
  }
  const elfy: { parse(buf: Buffer): ElfyFile };
  export default elfy;
}
