//! The generic CLI framework every `banca` command renders through.
//!
//! - [`ExitStatus`]: the one documented set of exit codes (0 ok, 1 differences/drift/findings,
//!   2 error).
//! - [`Printer`]: stdout is data, stderr is for people. Human text or JSON Lines (`--json`, one
//!   `{"type": ..., "data": ...}` object a line); `--quiet` silences what is for people (never
//!   errors); `NO_COLOR` and non-TTY streams get no ANSI colour; a closed stdout (broken pipe)
//!   stops output quietly and the process exits 0, as `rg | head` does.
//! - [`progress`]: the building blocks of live progress on a TTY (a redrawn region of lines) and
//!   its plain-line fallback for CI and pipes.
//!
//! Commands take a `&Printer` and return an [`ExitStatus`]; the binary maps it to the process
//! exit code with [`Printer::finish`]:
//!
//! ```
//! use banca_synth::cli::{ExitStatus, OutputArgs, Printer};
//!
//! let (printer, captured) = Printer::capture(&OutputArgs { json: true, quiet: false });
//! printer.record("stack", &serde_json::json!({"name": "banca-messaging"}));
//! assert_eq!(captured.stdout(), "{\"type\":\"stack\",\"data\":{\"name\":\"banca-messaging\"}}\n");
//! assert_eq!(printer.finish(ExitStatus::Success), ExitStatus::Success);
//! ```
//!
//! Invariant: nothing here talks to AWS; the crate does not depend on the AWS SDK.

mod exit;
mod printer;
pub mod progress;

pub use exit::ExitStatus;
pub use printer::{Captured, OutputArgs, Printer, Style};
