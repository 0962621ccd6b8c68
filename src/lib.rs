//! hookstrap: install the Platform.sh / Upsun CLI in a build hook — resolve a version, download
//! the release archive, verify its SHA-256, cache it, unpack it safely, place the binary, and
//! put it on `PATH` through one idempotent block in `.environment`.
//!
//! The contract is `SPEC.md`; the data flows one way through one module per stage:
//! [`cli`] → [`settings`] → [`resolve`] → [`fetch`] ([`http`], [`cache`]) → [`verify`] →
//! [`unpack`] → [`install`] → [`envfile`], strung together by [`commands`], which hands each
//! tool's share of `install`, `fetch` and `lock` to [`jobs`] on the bounded [`pool`]. [`hook`]
//! runs an app's build hook locally as the platform would (`hookstrap hook build`). [`diag`] is
//! the leaf every stage imports (exit codes, hints); [`error`] gathers the stages' errors at
//! the top. Only `main.rs` and [`report`] talk to the terminal; only [`context`] reads the
//! environment.

pub mod cache;
pub mod cli;
pub mod commands;
pub mod context;
pub mod diag;
pub mod envfile;
pub mod error;
pub mod fault;
pub mod fetch;
pub mod fsutil;
pub mod hook;
pub mod http;
pub mod install;
pub mod jobs;
pub mod mirror;
pub mod names;
pub mod pool;
pub mod report;
pub mod resolve;
pub mod settings;
pub mod size;
pub mod unpack;
pub mod verify;

pub use crate::commands::run;
pub use crate::error::{Error, Result};
