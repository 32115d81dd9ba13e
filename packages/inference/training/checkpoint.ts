import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

/** What a training run needs to continue exactly where it stopped. */
export type CheckpointState = {
  /** The recipe as JSON: a checkpoint only resumes the run it came from. */
  recipe: string;
  /** Steps done. */
  step: number;
  rng: number[];
  runningLoss: number;
  seconds: number;
  history: unknown[];
  /** Parameters, then AdamW's first and second moments. */
  arrays: Float32Array[];
};

const MAGIC = "SJCKPT1\n";

/** Writes a checkpoint atomically (a crash mid-write leaves the previous one). */
export function saveCheckpoint(path: string, state: CheckpointState): void {
  const { arrays, ...header } = state;
  const headerBytes = new TextEncoder().encode(JSON.stringify({ ...header, lengths: arrays.map((a) => a.length) }));
  const padded = Math.ceil((MAGIC.length + 4 + headerBytes.length) / 4) * 4;
  const total = padded + arrays.reduce((sum, a) => sum + a.length * 4, 0);
  const bytes = new Uint8Array(total);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(MAGIC.length, headerBytes.length, true);
  bytes.set(headerBytes, MAGIC.length + 4);
  let at = padded;
  for (const array of arrays) {
    bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at);
    at += array.byteLength;
  }
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

/** Reads a checkpoint written by {@link saveCheckpoint}, or undefined if there is none. */
export function loadCheckpoint(path: string): CheckpointState | undefined {
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw new Error(`${path} is not a training checkpoint`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const { lengths, ...header } = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength))) as Omit<
    CheckpointState,
    "arrays"
  > & { lengths: number[] };
  let at = Math.ceil((MAGIC.length + 4 + headerLength) / 4) * 4;
  const arrays = lengths.map((n) => {
    const array = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + n * 4));
    at += n * 4;
    return array;
  });
  return { ...header, arrays };
}
