//! Where a command's output goes: data on stdout, messages for people on stderr.

use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use super::ExitStatus;

/// The output flags every command takes (flatten into the command's clap `Args`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Print JSON Lines on stdout, one `{"type": ..., "data": ...}` object per line, and no live
    /// progress.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only data and errors: no progress, no notes.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// A colour/weight for [`Printer::style`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Style {
    /// Bold.
    Bold,
    /// Green: done, added, in sync.
    Green,
    /// Yellow: changed, in progress, warnings.
    Yellow,
    /// Red: failed, removed, replaced, drifted.
    Red,
    /// Dim: unchanged, skipped.
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Dim => "2",
        }
    }
}

enum Sink {
    Stdout,
    Stderr,
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Sink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Sink::Stderr => {
                let mut err = io::stderr().lock();
                err.write_all(bytes)?;
                err.flush()
            }
            Sink::Buffer(b) => {
                b.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(bytes);
                Ok(())
            }
        }
    }
}

/// What a captured [`Printer`] wrote (tests, and callers that post-process output).
#[derive(Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(PoisonError::into_inner)).into()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(PoisonError::into_inner)).into()
    }
}

/// The output of one command run. Shared by reference between concurrent tasks (it is `Sync`):
/// each call writes whole lines, so lines of parallel stacks never interleave mid-line.
pub struct Printer {
    json: bool,
    quiet: bool,
    color: bool,
    live: bool,
    interactive: bool,
    out: Mutex<Sink>,
    err: Mutex<Sink>,
    closed: AtomicBool,
    answers: Mutex<Option<VecDeque<bool>>>,
}

/// Whether an environment variable is set to a non-empty value.
fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

impl Printer {
    /// The process's real stdout and stderr. Colour only when stderr is a terminal, `NO_COLOR`
    /// is unset and `TERM` is not `dumb`; live progress only when stderr is a terminal and
    /// neither `CI`, `--json` nor `--quiet` is set.
    pub fn new(args: &OutputArgs) -> Self {
        let tty = io::stderr().is_terminal();
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Self {
            json: args.json,
            quiet: args.quiet,
            color: tty && !dumb && !env_set("NO_COLOR"),
            live: tty && !dumb && !env_set("CI") && !args.json && !args.quiet,
            interactive: io::stdin().is_terminal() && tty,
            out: Mutex::new(Sink::Stdout),
            err: Mutex::new(Sink::Stderr),
            closed: AtomicBool::new(false),
            answers: Mutex::new(None),
        }
    }

    /// A printer writing to memory, as when not on a terminal (no colour, no live progress, no
    /// questions answered).
    pub fn capture(args: &OutputArgs) -> (Self, Captured) {
        let captured = Captured::default();
        let printer = Self {
            json: args.json,
            quiet: args.quiet,
            color: false,
            live: false,
            interactive: false,
            out: Mutex::new(Sink::Buffer(captured.out.clone())),
            err: Mutex::new(Sink::Buffer(captured.err.clone())),
            closed: AtomicBool::new(false),
            answers: Mutex::new(None),
        };
        (printer, captured)
    }

    /// A printer writing to memory that behaves as if stderr were a terminal (live progress on,
    /// colour off), to test what a person sees.
    pub fn capture_terminal(args: &OutputArgs) -> (Self, Captured) {
        let (mut p, c) = Self::capture(args);
        p.live = !args.json && !args.quiet;
        (p, c)
    }

    /// Answers the next confirmation questions with these, in order (tests; `--yes`).
    #[must_use]
    pub fn with_answers(self, answers: impl IntoIterator<Item = bool>) -> Self {
        *self.answers.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(answers.into_iter().collect());
        self
    }

    /// Whether output is JSON Lines.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Whether `--quiet` was given.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether progress should be a live, redrawn view (else plain lines, or nothing).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Whether plain progress lines should be written to stderr (not quiet, not JSON, not live).
    pub fn wants_progress_lines(&self) -> bool {
        !self.quiet && !self.json && !self.live
    }

    /// `text` in `style` when colour is on; as is otherwise.
    pub fn style(&self, text: &str, style: Style) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", style.code())
        } else {
            text.to_owned()
        }
    }

    fn write_out(&self, bytes: &[u8]) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let result = self
            .out
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_all(bytes);
        if let Err(e) = result {
            // A reader that went away (`banca diff | head`) is not an error: stop writing.
            // Other stdout failures cannot be reported anywhere better than stderr.
            self.closed.store(true, Ordering::Relaxed);
            if e.kind() != io::ErrorKind::BrokenPipe {
                self.write_err(format!("error: cannot write to stdout: {e}\n").as_bytes());
            }
        }
    }

    fn write_err(&self, bytes: &[u8]) {
        // Nowhere is left to report a failing stderr.
        let _ = self
            .err
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_all(bytes);
    }

    /// A line of data on stdout, in human mode (in JSON mode, data goes through
    /// [`Printer::record`] instead and this prints nothing).
    pub fn data(&self, line: impl AsRef<str>) {
        if self.json {
            return;
        }
        let mut s = line.as_ref().to_owned();
        s.push('\n');
        self.write_out(s.as_bytes());
    }

    /// A JSON Lines record `{"type": kind, "data": data}` on stdout, in JSON mode (nothing in
    /// human mode).
    pub fn record<T: Serialize + ?Sized>(&self, kind: &str, data: &T) {
        if !self.json {
            return;
        }
        #[derive(Serialize)]
        struct Envelope<'a, T: ?Sized> {
            #[serde(rename = "type")]
            kind: &'a str,
            data: &'a T,
        }
        match serde_json::to_string(&Envelope { kind, data }) {
            Ok(mut line) => {
                line.push('\n');
                self.write_out(line.as_bytes());
            }
            Err(e) => self.error(format!("cannot encode a {kind} record as JSON: {e}")),
        }
    }

    /// A message for people on stderr; silenced by `--quiet`.
    pub fn note(&self, message: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let mut s = message.as_ref().to_owned();
        s.push('\n');
        self.write_err(s.as_bytes());
    }

    /// A warning on stderr (`warning: ...`); silenced by `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let prefix = self.style("warning", Style::Yellow);
        self.write_err(format!("{prefix}: {}\n", message.as_ref()).as_bytes());
    }

    /// An error on stderr (`error: ...`, never silenced); in JSON mode also an `error` record
    /// on stdout so a CI consumer sees it.
    pub fn error(&self, message: impl AsRef<str>) {
        let message = message.as_ref();
        let prefix = self.style("error", Style::Red);
        self.write_err(format!("{prefix}: {message}\n").as_bytes());
        self.record("error", &serde_json::json!({ "message": message }));
    }

    /// Raw bytes to stderr (live progress frames).
    pub fn stderr_raw(&self, text: &str) {
        self.write_err(text.as_bytes());
    }

    /// Asks a yes/no question on stderr and reads the answer from stdin. `None` when nobody can
    /// answer (stdin or stderr is not a terminal, or JSON mode): callers then refuse and say
    /// which flag skips the question.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        if let Some(answers) = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            return answers.pop_front();
        }
        if !self.interactive || self.json {
            return None;
        }
        self.write_err(format!("{question} [y/N] ").as_bytes());
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line).ok()?;
        Some(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }

    /// Whether stdout was closed by its reader.
    pub fn stdout_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// The status to exit with: `status`, except after a broken pipe, which exits 0 quietly.
    pub fn finish(&self, status: ExitStatus) -> ExitStatus {
        if self.stdout_closed() {
            ExitStatus::Success
        } else {
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(json: bool, quiet: bool) -> OutputArgs {
        OutputArgs { json, quiet }
    }

    #[test]
    fn human_mode_puts_data_on_stdout_and_people_text_on_stderr() {
        let (p, c) = Printer::capture(&args(false, false));
        p.data("banca-messaging  us-east-1");
        p.record("stack", &serde_json::json!({}));
        p.note("deploying 1 stack");
        p.warn("stack has no outputs");
        p.error("it broke\nhint: fix it");
        assert_eq!(c.stdout(), "banca-messaging  us-east-1\n");
        assert_eq!(
            c.stderr(),
            "deploying 1 stack\nwarning: stack has no outputs\nerror: it broke\nhint: fix it\n"
        );
        assert!(p.wants_progress_lines());
        assert!(!p.is_live());
    }

    #[test]
    fn json_mode_writes_only_envelopes_on_stdout() {
        let (p, c) = Printer::capture(&args(true, false));
        p.data("not shown");
        p.record("drift", &serde_json::json!({"stack": "a"}));
        p.error("boom");
        let lines: Vec<serde_json::Value> = c
            .stdout()
            .lines()
            .map(|l| serde_json::from_str(l).expect("valid JSON line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["type"], "drift");
        assert_eq!(lines[0]["data"]["stack"], "a");
        assert_eq!(lines[1]["type"], "error");
        assert_eq!(lines[1]["data"]["message"], "boom");
        assert!(!p.wants_progress_lines());
    }

    #[test]
    fn quiet_silences_notes_but_not_errors_or_data() {
        let (p, c) = Printer::capture(&args(false, true));
        p.note("n");
        p.warn("w");
        p.error("e");
        p.data("d");
        assert_eq!(c.stderr(), "error: e\n");
        assert_eq!(c.stdout(), "d\n");
        let (p, _) = Printer::capture_terminal(&args(false, true));
        assert!(!p.is_live(), "--quiet never shows live progress");
    }

    #[test]
    fn confirmation_needs_someone_to_answer() {
        let (p, _) = Printer::capture(&args(false, false));
        assert_eq!(p.confirm("destroy?"), None);
        let p = p.with_answers([true, false]);
        assert_eq!(p.confirm("a?"), Some(true));
        assert_eq!(p.confirm("b?"), Some(false));
        assert_eq!(p.confirm("c?"), None);
    }

    #[test]
    fn broken_pipe_exits_quietly() {
        let (p, _) = Printer::capture(&args(false, false));
        assert_eq!(p.finish(ExitStatus::Failure), ExitStatus::Failure);
        p.closed.store(true, Ordering::Relaxed);
        p.data("dropped");
        assert_eq!(p.finish(ExitStatus::Error), ExitStatus::Success);
    }
}
