;; A minimal batch module written by hand: add_one over bigint, reading and
;; writing Arrow buffers in linear memory (docs/udf-abi.md). Also two
;; misbehaving functions: one reports an error, one returns a wild pointer.
(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "weft 1\nfunction add_one scalar (l) -> l strict\nfunction fail scalar (l) -> l\nfunction wild scalar (l) -> l\n")
  (data (i32.const 1024) "22023 fail was asked to fail")
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_manifest") (result i64)
    ;; pointer 16 in the high half, length 107 in the low half
    i64.const 68719476843)
  (func (export "weft_last_error") (result i64)
    ;; pointer 1024, length 28
    i64.const 4398046511132)
  ;; bump allocator; memory grows as needed
  (func (export "weft_alloc") (param $size i32) (result i32)
    (local $p i32)
    global.get $heap
    local.set $p
    global.get $heap
    local.get $size
    i32.add
    i32.const 7
    i32.add
    i32.const -8
    i32.and
    global.set $heap
    (block $ok
      (loop $grow
        global.get $heap
        memory.size
        i32.const 65536
        i32.mul
        i32.le_u
        br_if $ok
        i32.const 1
        memory.grow
        i32.const -1
        i32.eq
        if
          i32.const 0
          return
        end
        br $grow))
    local.get $p)
  (func (export "weft_call") (param $fn i32) (param $bind i32) (param $bind_len i32)
                             (param $in i32) (param $const_mask i64) (param $out i32) (result i32)
    (local $child i32) (local $n i32) (local $src i32) (local $dst i32) (local $i i32)
    local.get $fn
    i32.const 1
    i32.eq
    if
      i32.const 1
      return
    end
    ;; child 0 of the input struct: children pointer at +44, first entry
    local.get $in
    i32.load offset=44
    i32.load
    local.set $child
    ;; rows
    local.get $in
    i64.load
    i32.wrap_i64
    local.set $n
    ;; values buffer of the child: buffers pointer at +40, entry 1
    local.get $child
    i32.load offset=40
    i32.load offset=4
    local.set $src
    ;; output values buffer: out buffers pointer at +40, entry 1
    local.get $out
    i32.load offset=40
    i32.load offset=4
    local.set $dst
    local.get $fn
    i32.const 2
    i32.eq
    if
      ;; wild: point the output values far outside memory
      local.get $out
      i32.load offset=40
      i32.const 2147483647
      i32.store offset=4
      i32.const 0
      return
    end
    (block $done
      (loop $rows
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        local.get $dst
        local.get $i
        i32.const 3
        i32.shl
        i32.add
        local.get $src
        local.get $i
        i32.const 3
        i32.shl
        i32.add
        i64.load
        i64.const 1
        i64.add
        i64.store
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $rows))
    i32.const 0)
)
