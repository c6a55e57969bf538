//! banca-stacks: see ARCHITECTURE.md.
