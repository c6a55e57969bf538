//! banca-contracts: the messages of `shared/contracts/events.md` and the API request bodies,
//! as Rust types. They are the single source of truth: the JSON Schemas that API Gateway
//! validates with are generated from them with `schemars`, never written by hand.
//!
//! Invariants: no I/O, no AWS SDK (the synth path and the handlers both depend on this crate).
#![warn(missing_docs)]

pub mod api;
pub mod audit;
pub mod fields;
pub mod money;
pub mod notification;
pub mod report;
pub mod transfer;
