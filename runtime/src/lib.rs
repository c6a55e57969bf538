//! banca-runtime: see ARCHITECTURE.md.
