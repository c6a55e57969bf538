//! One test binary (one link) for the whole suite.

mod common;
mod compliance;
mod constructs;
mod full_app;
mod grants;
mod negative;
mod references;
mod tree;
