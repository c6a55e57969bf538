//! banca-runtime: the Lambda handlers' shared plumbing ([`lambda`]) and the transfer processor.
//!
//! See `ARCHITECTURE.md`. This crate depends on no other banca crate except `banca-contracts`.
#![warn(missing_docs)]

pub mod lambda;
pub mod transfer;
