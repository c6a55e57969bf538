//! One test binary (one link) for the whole suite.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;
mod compliance;
mod constructs;
mod full_app;
mod grants;
mod negative;
mod references;
mod tree;
