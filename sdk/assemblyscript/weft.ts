// weft.ts — write Weft batch UDFs in AssemblyScript (Weft UDF ABI version 1,
// docs/udf-abi.md). A module re-exports the ABI functions from here and
// provides `weftManifest` and `weftDispatch`; see examples/assemblyscript.
//
// Build: npx asc example.ts -O3 --runtime incremental --exportRuntime -o f.wasm

// ArrowArray on wasm32: i64 length@0, null_count@8, offset@16, n_buffers@24,
// n_children@32; u32 buffers@40, children@44.
export class Batch {
  constructor(public rows: i64, public input: usize, public constMask: u64, public out: usize) {}

  arg(k: i32): usize { return <usize>load<u32>(<usize>load<u32>(this.input + 44) + <usize>(k * 4)); }
  row(k: i32, i: i64): i64 { return ((this.constMask >> <u64>k) & 1) == 1 ? 0 : i; }
  buffer(arr: usize, j: i32): usize { return <usize>load<u32>(<usize>load<u32>(arr + 40) + <usize>(j * 4)); }

  isNull(k: i32, i: i64): bool {
    const v = this.buffer(this.arg(k), 0);
    return v != 0 && ((load<u8>(v + <usize>(i >> 3)) >> <u8>(i & 7)) & 1) == 0;
  }
  i64At(k: i32, i: i64): i64 { return load<i64>(this.buffer(this.arg(k), 1) + <usize>(i * 8)); }
  f64At(k: i32, i: i64): f64 { return load<f64>(this.buffer(this.arg(k), 1) + <usize>(i * 8)); }
  // text/bytea value: start address and length
  bytesPtr(k: i32, i: i64): usize {
    const a = this.arg(k);
    return this.buffer(a, 2) + <usize>load<i32>(this.buffer(a, 1) + <usize>(i * 4));
  }
  bytesLen(k: i32, i: i64): i32 {
    const offs = this.buffer(this.arg(k), 1) + <usize>(i * 4);
    return load<i32>(offs + 4) - load<i32>(offs);
  }

  setNull(i: i64): void {
    const v = this.buffer(this.out, 0) + <usize>(i >> 3);
    store<u8>(v, load<u8>(v) & ~(<u8>1 << <u8>(i & 7)));
  }
  setI64(i: i64, x: i64): void { store<i64>(this.buffer(this.out, 1) + <usize>(i * 8), x); }
  setF64(i: i64, x: f64): void { store<f64>(this.buffer(this.out, 1) + <usize>(i * 8), x); }

  // text results: rows appended in order into a scratch buffer
  textLen: i32 = 0;
  appendBytes(i: i64, src: usize, n: i32): void {
    ensureScratch(this.textLen + n);
    memory.copy(scratch + <usize>this.textLen, src, <usize>n);
    this.textLen += n;
    store<i32>(this.buffer(this.out, 1) + <usize>((i + 1) * 4), this.textLen);
  }
  finishText(): void { store<u32>(<usize>load<u32>(this.out + 40) + 8, <u32>scratch); }
}

let scratch: usize = 0;
let scratchCap: i32 = 0;
function ensureScratch(n: i32): void {
  if (n <= scratchCap) return;
  let cap = scratchCap > 0 ? scratchCap : 4096;
  while (cap < n) cap *= 2;
  scratch = scratch == 0 ? heap.alloc(<usize>cap) : heap.realloc(scratch, <usize>cap);
  scratchCap = cap;
}

let lastError: ArrayBuffer = new ArrayBuffer(0);
let manifestBytes: ArrayBuffer = new ArrayBuffer(0);

export function fail(sqlstate: string, message: string): i32 {
  lastError = String.UTF8.encode(sqlstate + " " + message);
  return 1;
}

function pack(p: usize, n: i32): u64 { return (<u64>p << 32) | <u64>(<u32>n); }

export function abiVersion(): i32 { return 1; }
export function manifest(entries: string): u64 {
  manifestBytes = String.UTF8.encode("weft 1\n" + entries);
  return pack(changetype<usize>(manifestBytes), manifestBytes.byteLength);
}
export function lastErrorText(): u64 { return pack(changetype<usize>(lastError), lastError.byteLength); }
export function alloc(size: i32): usize { return heap.alloc(<usize>(size < 8 ? 8 : size)); }
export function free(p: usize): void { heap.free(p); }
