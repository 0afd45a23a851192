//! The C ABI of `oauth2-provider`: `liboauth2_provider.a` / `.so` and the
//! header `include/oauth2_provider.h`, generated from this crate by cbindgen.
//!
//! This crate is an adapter only: it converts C views into the Rust API's
//! types and back, and runs the host's validator callbacks. Every protocol
//! decision stays in the `oauth2-provider` crate.
//!
//! Layout: one module per concept (`server`, `authorization`, `token`,
//! `request`, `response`, `validator`, `context`, `client`, `config`,
//! `device` (a pending device authorization for the verification page),
//! `protected_resource`, `bearer` (the header-only bearer check and the
//! handle lending its answer), `helpers`, and `sqlite`: the SQLite store as a handle, with the
//! `sqlite` feature), `enums` (the C integer codes and their conversions), and
//! private plumbing: `panic` (the panic boundary), `ffi` (pointers and
//! ownership), `slice` (`oap_str` / `oap_bytes`), `status` (`oap_status`).
//! `validator` is the callback table (`validator/table.rs`: what the
//! header shows) and the adapter implementing the Rust trait over it
//! (`validator/adapter.rs`); its tests (`validator/conformance.rs`) run
//! the storage conformance kit through that adapter on the C test store.
//!
//! Imports point one way: `bearer → server → config → validator → context →
//! client, token → enums → status`, `server → sqlite → client`, the plumbing (`slice → ffi, panic →
//! status`) below the concepts beside `enums`. `tests/import_graph.rs`
//! fails on a cycle.
//!
//! Every `unsafe` block says why it is sound in a `// SAFETY:` comment;
//! most rely on the contract written in the header: pointers are NULL or
//! valid for the documented duration, lengths match their buffers. Each
//! export takes that contract once, at the top: its handles, out-pointers
//! (`Out::new`, after which writing is safe) and views in one `unsafe`
//! block, whose note names the arguments; read-only accessors take their
//! handle as `Option<&T>` (the same C pointer), so the boundary itself
//! converts it. Host callbacks are called through `host_call!` in the
//! validator adapter, which carries the one note for all of them; the
//! few others (`fill_random`, the bearer check's `granted`, the SQLite
//! store's error log, …) carry theirs where they are called.
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

mod authorization;
mod bearer;
mod client;
mod config;
mod context;
mod device;
mod enums;
mod ffi;
mod helpers;
mod panic;
mod protected_resource;
mod request;
mod response;
mod server;
mod slice;
#[cfg(feature = "sqlite")]
mod sqlite;
mod status;
mod token;
mod validator;

pub use authorization::*;
pub use bearer::*;
pub use client::*;
pub use config::*;
pub use context::*;
pub use device::*;
pub use enums::*;
pub use helpers::*;
pub use protected_resource::*;
pub use request::*;
pub use response::*;
pub use server::*;
pub use slice::*;
#[cfg(feature = "sqlite")]
pub use sqlite::*;
pub use status::*;
pub use token::*;
pub use validator::*;
