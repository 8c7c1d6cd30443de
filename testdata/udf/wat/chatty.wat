;; A guest that prints megabytes to stdout through WASI: the host must cap
;; what reaches the log and carry on.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; iovec at 0: buffer at 1024, 65536 bytes
  (data (i32.const 0) "\00\04\00\00\00\00\01\00")
  (func (export "chatty") (param $x i64) (result i64)
    (local $i i32)
    (block $done
      (loop $again
        local.get $i
        i32.const 64
        i32.ge_u
        br_if $done
        i32.const 1   ;; stdout
        i32.const 0   ;; iovs
        i32.const 1   ;; one iovec
        i32.const 16  ;; where to store the count written
        call $fd_write
        drop
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $again))
    local.get $x)
)
