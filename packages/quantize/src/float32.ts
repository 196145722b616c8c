/**
 * IEEE float32 arithmetic on JS numbers. Every reference we match (PyTorch, bitsandbytes, ggml)
 * computes in float32, so each operation is rounded with Math.fround. For +, −, ×, ÷ and sqrt of
 * float32 operands, rounding the double result to float32 gives the correctly rounded float32 result
 * (double has more than 2·24 + 2 bits), so no double-rounding error creeps in.
 */
export const f32 = Math.fround;

/** Rounds to the nearest integer, ties to the even one (C's nearbyint/rint in the default mode). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds ties up; step back when x was a tie and r is odd.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** C's roundf: ties away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** float32 machine epsilon (torch.finfo(torch.float32).eps), PyTorch's smallest scale. */
export const FLOAT32_EPS = 2 ** -23;
