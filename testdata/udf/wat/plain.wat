;; Plain functions: core types only, called once per row. Also the hostile
;; ones the tests use: a trap, a runaway loop, a memory hog.
(module
  (memory (export "memory") 1)
  (func (export "add") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.add)
  (func (export "add_i32") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "clamp") (param f64 f64 f64) (result f64)
    local.get 0
    local.get 1
    f64.max
    local.get 2
    f64.min)
  (func (export "is_even") (param i64) (result i32)
    local.get 0
    i64.const 2
    i64.rem_s
    i64.eqz)
  (func (export "trap") (param i64) (result i64)
    unreachable)
  (func (export "divide") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.div_s)
  (func (export "spin") (param i64) (result i64)
    (loop $forever
      br $forever)
    local.get 0)
  ;; stash keeps a value in linear memory, peek reads it back: what one
  ;; caller leaves there must not reach another session or role
  (func (export "stash") (param i64) (result i64)
    i32.const 1024
    local.get 0
    i64.store
    local.get 0)
  (func (export "peek") (param i64) (result i64)
    i32.const 1024
    i64.load)
  (func (export "hog") (param i64) (result i64)
    (loop $more
      i32.const 16
      memory.grow
      i32.const -1
      i32.eq
      if
        unreachable
      end
      br $more)
    local.get 0)
)
