//! banca-stacks: the bank's internet-banking platform as banca constructs.
//!
//! [`config`] reads `banca.yaml`; [`app`] builds every stack of both regions and the global
//! edge from it; the `banca` binary (`src/main.rs`) parses the command line and renders.
//!
//! Invariants: no I/O outside the binary and `config::Config::load`; the same config and
//! handler assets always give the same app.
#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod diagram;
pub mod pipeline;
