;; A tight loop for measuring what interruption costs: sums n int64 values
;; stored from address 0.
(module
  (memory (export "memory") 160)
  (func (export "sum") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (block $done
      (loop $next
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        local.get $acc
        local.get $i
        i32.const 3
        i32.shl
        i64.load
        i64.add
        local.set $acc
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $next))
    local.get $acc)
)
