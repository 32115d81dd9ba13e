import { simdFits, simdGemmABt } from "./simdKernel.ts";

/**
 * Dense kernels for training on one CPU thread. Everything is expressed as C = A·Bᵀ over
 * row-major matrices, whose inner loop reads two contiguous rows; a 4×2 register tile reuses
 * each load, which runs ~3× faster in V8 than a naive triple loop. Float32 products of suitable
 * sizes run in WebAssembly SIMD ({@link simdGemmABt}), several times faster again.
 */

/** Float32 for training; Float64 for the gradient check, where finite differences need the precision. */
export type Vec = Float32Array | Float64Array;

/**
 * Zero structure that {@link gemmABt} may skip, for causal attention (requires N = M = K where used):
 * `lowerA`: A[n][k] = 0 for k > n; `upperA`: A[n][k] = 0 for k < n; `lowerC`: only C[n][m] for
 * m ≤ n is wanted (entries above the diagonal are left as they are, up to 3 of them computed).
 */
export const Triangle = { none: 0, lowerA: 1, upperA: 2, lowerC: 3 } as const;
export type Triangle = (typeof Triangle)[keyof typeof Triangle];

/**
 * C[n][m] (+)= Σ_k A[n][k]·B[m][k] for A: N×K, B: M×K, C: N×M (row-major, starting at the offsets).
 */
export function gemmABt(
  A: Vec,
  aOff: number,
  B: Vec,
  bOff: number,
  C: Vec,
  cOff: number,
  N: number,
  M: number,
  K: number,
  accumulate: boolean,
  triangle: Triangle = Triangle.none,
): void {
  if (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array && simdFits(N, M, K)) {
    simdGemmABt(A, aOff, B, bOff, C, cOff, N, M, K, accumulate, triangle);
    return;
  }
  const n4 = N - (N % 4);
  const m2 = M - (M % 2);
  for (let n = 0; n < n4; n += 4) {
    const a0 = aOff + n * K,
      a1 = a0 + K,
      a2 = a1 + K,
      a3 = a2 + K;
    const c0 = cOff + n * M,
      c1 = c0 + M,
      c2 = c1 + M,
      c3 = c2 + M;
    const kStart = triangle === Triangle.upperA ? n : 0;
    const kEnd = triangle === Triangle.lowerA ? Math.min(K, n + 4) : K;
    const mEnd = triangle === Triangle.lowerC ? Math.min(m2, n + 4) : m2;
    for (let m = 0; m < mEnd; m += 2) {
      const b0 = bOff + m * K,
        b1 = b0 + K;
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let k = kStart; k < kEnd; k++) {
        const w0 = B[b0 + k]!,
          w1 = B[b1 + k]!;
        let x = A[a0 + k]!;
        s00 += x * w0;
        s01 += x * w1;
        x = A[a1 + k]!;
        s10 += x * w0;
        s11 += x * w1;
        x = A[a2 + k]!;
        s20 += x * w0;
        s21 += x * w1;
        x = A[a3 + k]!;
        s30 += x * w0;
        s31 += x * w1;
      }
      if (accumulate) {
        C[c0 + m] = C[c0 + m]! + s00;
        C[c0 + m + 1] = C[c0 + m + 1]! + s01;
        C[c1 + m] = C[c1 + m]! + s10;
        C[c1 + m + 1] = C[c1 + m + 1]! + s11;
        C[c2 + m] = C[c2 + m]! + s20;
        C[c2 + m + 1] = C[c2 + m + 1]! + s21;
        C[c3 + m] = C[c3 + m]! + s30;
        C[c3 + m + 1] = C[c3 + m + 1]! + s31;
      } else {
        C[c0 + m] = s00;
        C[c0 + m + 1] = s01;
        C[c1 + m] = s10;
        C[c1 + m + 1] = s11;
        C[c2 + m] = s20;
        C[c2 + m + 1] = s21;
        C[c3 + m] = s30;
        C[c3 + m + 1] = s31;
      }
    }
    for (let m = mEnd === m2 ? m2 : M; m < M; m++) {
      for (let r = 0; r < 4; r++) dotInto(A, a0 + r * K, B, bOff + m * K, C, c0 + r * M + m, K, accumulate);
    }
  }
  for (let n = n4; n < N; n++) {
    for (let m = 0; m < M; m++) dotInto(A, aOff + n * K, B, bOff + m * K, C, cOff + n * M + m, K, accumulate);
  }
}

function dotInto(A: Vec, a: number, B: Vec, b: number, C: Vec, c: number, K: number, accumulate: boolean): void {
  let s = 0;
  for (let k = 0; k < K; k++) s += A[a + k]! * B[b + k]!;
  if (accumulate) C[c] = C[c]! + s;
  else C[c] = s;
}

/** dst (R columns × C rows) = srcᵀ for src: R×C row-major from srcOff. */
export function transpose(src: Vec, srcOff: number, dst: Vec, dstOff: number, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const s = srcOff + r * C;
    for (let c = 0; c < C; c++) dst[dstOff + c * R + r] = src[s + c]!;
  }
}

/** C (N×M) (+)= A (N×K) · B (K×M), via a transposed copy of B in `scratch` (≥ K·M). */
export function gemmAB(
  A: Vec,
  aOff: number,
  B: Vec,
  bOff: number,
  C: Vec,
  cOff: number,
  N: number,
  M: number,
  K: number,
  accumulate: boolean,
  scratch: Vec,
): void {
  transpose(B, bOff, scratch, 0, K, M);
  gemmABt(A, aOff, scratch, 0, C, cOff, N, M, K, accumulate);
}

/** C (N×M) (+)= Aᵀ·B for A: K×N, B: K×M, via transposed copies in `scratchA` (≥ K·N) and `scratchB` (≥ K·M). */
export function gemmAtB(
  A: Vec,
  aOff: number,
  B: Vec,
  bOff: number,
  C: Vec,
  cOff: number,
  N: number,
  M: number,
  K: number,
  accumulate: boolean,
  scratchA: Vec,
  scratchB: Vec,
): void {
  transpose(A, aOff, scratchA, 0, K, N);
  transpose(B, bOff, scratchB, 0, K, M);
  gemmABt(scratchA, 0, scratchB, 0, C, cOff, N, M, K, accumulate);
}
