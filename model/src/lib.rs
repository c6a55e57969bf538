//! banca-model: see ARCHITECTURE.md.
