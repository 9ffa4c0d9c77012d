// Elementwise transcendental functions of float32 arrays, four lanes at a time: op 0 exp,
// 1 tanh, 2 sigmoid. The ragged tail goes through the same four-lane code via a spill.
import { vexp, vtanh, vsigmoid } from './vmath';

// @ts-ignore: decorator
@inline function apply(op: i32, v: v128): v128 {
  return op == 0 ? vexp(v) : op == 1 ? vtanh(v) : vsigmoid(v);
}

export function unaryF32(op: i32, x: usize, out: usize, n: i32, tmp: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + <usize>i * 4, apply(op, v128.load(x + <usize>i * 4)));
  if (i < n) {
    memory.fill(tmp, 0, 16);
    memory.copy(tmp, x + <usize>i * 4, <usize>(n - i) * 4);
    v128.store(tmp, apply(op, v128.load(tmp)));
    memory.copy(out + <usize>i * 4, tmp, <usize>(n - i) * 4);
  }
}
