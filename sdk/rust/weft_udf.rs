//! weft_udf.rs — write Weft batch UDFs in Rust (Weft UDF ABI version 1,
//! docs/udf-abi.md). No dependencies: include this file as a module and
//! build a cdylib for wasm32-unknown-unknown:
//!
//! ```text
//! /usr/bin/rustc --target wasm32-unknown-unknown --crate-type cdylib -O -C strip=symbols lib.rs -o f.wasm
//! ```
//!
//! ```ignore
//! #[path = "weft_udf.rs"] mod weft_udf;
//! use weft_udf::*;
//! weft_module!("function add_one scalar (l) -> l strict\n", dispatch);
//! fn dispatch(f: i32, c: &mut Call) -> Result<(), WeftError> { ... }
//! ```
#![allow(dead_code)]

use std::alloc::{alloc, dealloc, Layout};

/// The Arrow C data interface's ArrowArray on wasm32 (64 bytes).
#[repr(C)]
pub struct WeftArray {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    pub n_buffers: i64,
    pub n_children: i64,
    pub buffers: *mut *mut u8,
    pub children: *mut *mut WeftArray,
    pub dictionary: *mut WeftArray,
    pub release: u32,
    pub private_data: *mut u8,
}

/// An error with a SQLSTATE.
pub struct WeftError {
    pub sqlstate: &'static str,
    pub message: String,
}

pub fn error(sqlstate: &'static str, message: &str) -> WeftError {
    WeftError { sqlstate, message: message.to_string() }
}

/// One batch call.
pub struct Call<'a> {
    pub rows: i64,
    pub args: Vec<&'a WeftArray>,
    pub const_mask: u64,
    pub out: &'a mut WeftArray,
    pub bind: &'a [u8],
    text: Vec<u8>,
}

impl<'a> Call<'a> {
    /// Row of argument k for result row i (constants have one row).
    pub fn row(&self, k: usize, i: i64) -> i64 {
        if (self.const_mask >> k) & 1 == 1 { 0 } else { i }
    }
    pub fn is_null(&self, k: usize, i: i64) -> bool {
        unsafe {
            let v = *self.args[k].buffers;
            !v.is_null() && (*v.add((i >> 3) as usize) >> (i & 7)) & 1 == 0
        }
    }
    pub fn i64_at(&self, k: usize, i: i64) -> i64 {
        unsafe { *(*self.args[k].buffers.add(1) as *const i64).add(i as usize) }
    }
    pub fn f64_at(&self, k: usize, i: i64) -> f64 {
        unsafe { *(*self.args[k].buffers.add(1) as *const f64).add(i as usize) }
    }
    /// A text/bytea value, borrowed from the input.
    pub fn bytes_at(&self, k: usize, i: i64) -> &[u8] {
        unsafe {
            let offs = *self.args[k].buffers.add(1) as *const i32;
            let start = *offs.add(i as usize) as usize;
            let end = *offs.add(i as usize + 1) as usize;
            std::slice::from_raw_parts((*self.args[k].buffers.add(2)).add(start), end - start)
        }
    }
    pub fn set_null(&mut self, i: i64) {
        unsafe {
            let v = *self.out.buffers;
            *v.add((i >> 3) as usize) &= !(1u8 << (i & 7));
        }
    }
    pub fn set_i64(&mut self, i: i64, x: i64) {
        unsafe { *(*self.out.buffers.add(1) as *mut i64).add(i as usize) = x }
    }
    pub fn set_f64(&mut self, i: i64, x: f64) {
        unsafe { *(*self.out.buffers.add(1) as *mut f64).add(i as usize) = x }
    }
    /// Row i of a text/bytea result; rows are appended in order.
    pub fn push_bytes(&mut self, i: i64, v: &[u8]) {
        self.text.extend_from_slice(v);
        unsafe { *(*self.out.buffers.add(1) as *mut i32).add(i as usize + 1) = self.text.len() as i32 }
    }
}

static mut LAST_ERROR: Vec<u8> = Vec::new();
static mut RESULT_TEXT: Vec<u8> = Vec::new();

pub fn weft_alloc_impl(size: i32) -> *mut u8 {
    let layout = match Layout::from_size_align(size.max(8) as usize, 8) { Ok(l) => l, Err(_) => return std::ptr::null_mut() };
    unsafe { alloc(layout) }
}

pub fn weft_free_impl(p: *mut u8, size: i32) {
    if let Ok(layout) = Layout::from_size_align(size.max(8) as usize, 8) {
        unsafe { dealloc(p, layout) }
    }
}

pub fn weft_call_impl(
    dispatch: fn(i32, &mut Call) -> Result<(), WeftError>,
    f: i32, bind: *const u8, bind_len: i32, input: *mut WeftArray, const_mask: i64, out: *mut WeftArray,
) -> i32 {
    unsafe {
        let inp = &*input;
        let mut args = Vec::new();
        for k in 0..inp.n_children as usize {
            args.push(&**inp.children.add(k));
        }
        let bind = if bind_len > 0 { std::slice::from_raw_parts(bind, bind_len as usize) } else { &[] };
        let out = &mut *out;
        let rows = out.length;
        let variable = out.n_buffers == 3;
        let mut call = Call { rows, args, const_mask: const_mask as u64, out, bind, text: Vec::new() };
        match dispatch(f, &mut call) {
            Ok(()) => {
                if variable {
                    RESULT_TEXT = std::mem::take(&mut call.text);
                    RESULT_TEXT.push(0); // never an empty allocation
                    *call.out.buffers.add(2) = RESULT_TEXT.as_mut_ptr();
                }
                0
            }
            Err(e) => {
                LAST_ERROR = format!("{} {}", e.sqlstate, e.message).into_bytes();
                1
            }
        }
    }
}

pub fn pack(p: *const u8, n: usize) -> u64 {
    ((p as usize as u64) << 32) | n as u64
}

pub fn last_error_impl() -> u64 {
    unsafe { pack(LAST_ERROR.as_ptr(), LAST_ERROR.len()) }
}

/// Defines the module's exports from its manifest entries and dispatcher.
#[macro_export]
macro_rules! weft_module {
    ($entries:expr, $dispatch:path) => {
        static MANIFEST: &str = concat!("weft 1\n", $entries);
        #[no_mangle]
        pub extern "C" fn weft_abi_version() -> i32 { 1 }
        #[no_mangle]
        pub extern "C" fn weft_manifest() -> u64 { weft_udf::pack(MANIFEST.as_ptr(), MANIFEST.len()) }
        #[no_mangle]
        pub extern "C" fn weft_alloc(size: i32) -> *mut u8 { weft_udf::weft_alloc_impl(size) }
        #[no_mangle]
        pub extern "C" fn weft_free(p: *mut u8, size: i32) { weft_udf::weft_free_impl(p, size) }
        #[no_mangle]
        pub extern "C" fn weft_last_error() -> u64 { weft_udf::last_error_impl() }
        #[no_mangle]
        pub extern "C" fn weft_call(f: i32, bind: *const u8, bind_len: i32, input: *mut weft_udf::WeftArray, const_mask: i64, out: *mut weft_udf::WeftArray) -> i32 {
            weft_udf::weft_call_impl($dispatch, f, bind, bind_len, input, const_mask, out)
        }
    };
}
