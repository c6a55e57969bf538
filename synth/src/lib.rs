//! banca-synth: see ARCHITECTURE.md.

pub mod assembly;
pub mod bundle;
pub mod cli;
pub mod zip;
