// AssemblyScript UDFs for Weft, built with sdk/assemblyscript/weft.ts.
import { Batch, abiVersion, manifest, lastErrorText, alloc, free, fail } from "../../sdk/assemblyscript/weft";

export function weft_abi_version(): i32 { return abiVersion(); }
export function weft_manifest(): u64 {
  return manifest("function digit_sum scalar (l) -> l strict\nfunction shout scalar (u) -> u strict\n");
}
export function weft_last_error(): u64 { return lastErrorText(); }
export function weft_alloc(size: i32): usize { return alloc(size); }
export function weft_free(p: usize, size: i32): void { free(p); }

export function weft_call(fn: i32, bind: usize, bindLen: i32, input: usize, constMask: i64, out: usize): i32 {
  const b = new Batch(load<i64>(out), input, <u64>constMask, out);
  if (fn == 0) return digitSum(b);
  if (fn == 1) return shout(b);
  return fail("42883", "unknown function");
}

// sum of the decimal digits of |x|
function digitSum(b: Batch): i32 {
  for (let i: i64 = 0; i < b.rows; i++) {
    let x = b.i64At(0, b.row(0, i));
    if (x < 0) x = -x;
    let s: i64 = 0;
    while (x > 0) { s += x % 10; x /= 10; }
    b.setI64(i, s);
  }
  return 0;
}

// ASCII upper case plus "!"
function shout(b: Batch): i32 {
  for (let i: i64 = 0; i < b.rows; i++) {
    const p = b.bytesPtr(0, b.row(0, i));
    const n = b.bytesLen(0, b.row(0, i));
    const tmp = heap.alloc(<usize>(n + 1));
    for (let j = 0; j < n; j++) {
      let c = load<u8>(p + <usize>j);
      if (c >= 97 && c <= 122) c -= 32;
      store<u8>(tmp + <usize>j, c);
    }
    store<u8>(tmp + <usize>n, 33);
    b.appendBytes(i, tmp, n + 1);
    heap.free(tmp);
  }
  b.finishText();
  return 0;
}
