import { describe, expect, it } from "vitest";
import { Triangle, gemmABt } from "./kernels.ts";
import { Rng } from "./rng.ts";
import { simdFits, simdGemmABt } from "./simdKernel.ts";

/** The JS kernel on Float64 copies: the same sums without float32 rounding, and never the SIMD path. */
function expected(
  A: Float32Array,
  aOff: number,
  B: Float32Array,
  bOff: number,
  C: Float32Array,
  cOff: number,
  N: number,
  M: number,
  K: number,
  acc: boolean,
  tri: Triangle,
) {
  const out = Float64Array.from(C);
  gemmABt(Float64Array.from(A), aOff, Float64Array.from(B), bOff, out, cOff, N, M, K, acc, tri);
  return out;
}

describe("WebAssembly SIMD kernel", () => {
  const rng = new Rng(3);
  const cases: Array<[number, number, number, Triangle]> = [
    [4, 2, 4, Triangle.none],
    [8, 6, 12, Triangle.none],
    [12, 10, 96, Triangle.none],
    [16, 16, 16, Triangle.lowerA],
    [16, 16, 16, Triangle.upperA],
    [16, 16, 16, Triangle.lowerC],
    [40, 40, 40, Triangle.lowerC],
  ];
  it.each(cases)("agrees with the JS kernel for A %i×%i·Bᵀ (K %i), triangle %i, at offsets, set and accumulated", (N, M, K, tri) => {
    expect(simdFits(N, M, K)).toBe(true);
    for (const accumulate of [false, true]) {
      const A = Float32Array.from({ length: N * K + 5 }, () => rng.normal());
      const B = Float32Array.from({ length: M * K + 3 }, () => rng.normal());
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          if ((tri === Triangle.lowerA && k > n) || (tri === Triangle.upperA && k < n)) A[2 + n * K + k] = 0;
        }
      }
      const C = Float32Array.from({ length: N * M + 4 }, () => rng.normal());
      const want = expected(A, 2, B, 1, C, 3, N, M, K, accumulate, tri);
      simdGemmABt(A, 2, B, 1, C, 3, N, M, K, accumulate, tri);
      for (let i = 0; i < C.length; i++) {
        const n = Math.floor((i - 3) / M),
          m = (i - 3) % M;
        const outside = i < 3 || i >= 3 + N * M;
        if (outside) expect(C[i]).toBe(Math.fround(want[i]!));
        else if (!(tri === Triangle.lowerC && m > n)) expect(C[i]).toBeCloseTo(want[i]!, 4);
      }
    }
  });

  it("leaves shapes it cannot tile to the JS kernel", () => {
    expect(simdFits(5, 2, 4)).toBe(false);
    expect(simdFits(4, 3, 4)).toBe(false);
    expect(simdFits(4, 2, 6)).toBe(false);
  });
});
