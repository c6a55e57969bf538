//! banca-synth: see ARCHITECTURE.md.
