//! The host's `RequestValidator` on the C side: [`table`] is the callback
//! table the header shows (`oap_validator`, the `oap_*_cb` typedefs and
//! the views they receive); [`adapter`] is [`FfiValidator`], which
//! implements the Rust trait over a copy of that table.

mod adapter;
#[cfg(test)]
mod conformance;
mod table;

pub(crate) use adapter::FfiValidator;
pub use table::*;
