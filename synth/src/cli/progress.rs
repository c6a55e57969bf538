//! Progress building blocks: a live region redrawn in place on a terminal, and elapsed-time
//! formatting shared by the live view and plain lines.
//!
//! A [`LiveRegion`] turns "these are the lines to show now" into the bytes that erase the lines
//! drawn last time and draw the new ones (cursor up, clear line). It is pure, so the frames a
//! person would see can be snapshot-tested without a terminal.

use std::time::Duration;

/// A block of lines at the bottom of the terminal, redrawn on every update.
#[derive(Debug, Default)]
pub struct LiveRegion {
    drawn: usize,
    width: Option<usize>,
}

impl LiveRegion {
    /// A region that has drawn nothing yet. Lines wider than `width` columns are cut (with `…`),
    /// so a wrapped line never breaks the cursor arithmetic; `None` leaves lines as they are.
    pub fn new(width: Option<usize>) -> Self {
        Self { drawn: 0, width }
    }

    /// The bytes that replace the previous frame with `lines`.
    pub fn frame(&mut self, lines: &[String]) -> String {
        let mut out = String::new();
        if self.drawn > 0 {
            // Back to the first line of the previous frame.
            out.push_str(&format!("\x1b[{}A", self.drawn));
        }
        for line in lines {
            out.push_str("\r\x1b[2K");
            out.push_str(&self.fit(line));
            out.push('\n');
        }
        // Erase what is left of a taller previous frame.
        for _ in lines.len()..self.drawn {
            out.push_str("\r\x1b[2K\n");
        }
        if self.drawn > lines.len() {
            out.push_str(&format!("\x1b[{}A", self.drawn - lines.len()));
        }
        self.drawn = lines.len();
        out
    }

    /// Forgets the current frame so the next one is drawn below it (it stays on screen).
    pub fn keep(&mut self) {
        self.drawn = 0;
    }

    fn fit(&self, line: &str) -> String {
        match self.width {
            Some(w) if line.chars().count() > w && w > 1 => {
                let mut s: String = line.chars().take(w - 1).collect();
                s.push('…');
                s
            }
            _ => line.to_owned(),
        }
    }
}

/// `1.2s`, `42s`, `3m05s`: short elapsed times for progress lines.
pub fn elapsed(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 10_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else {
        let s = ms / 1000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Renders ANSI frames as the screen would show them after all of them were written: a tiny
/// terminal emulator (cursor up, clear line, carriage return, newline) for tests and
/// snapshots of live views.
pub fn screen(frames: &str) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    let mut row = 0usize;
    let mut chars = frames.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                row += 1;
                if row == lines.len() {
                    lines.push(String::new());
                }
            }
            '\r' => {}
            '\x1b' => {
                // CSI: ESC [ digits letter
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut n = String::new();
                    let mut cmd = ' ';
                    for d in chars.by_ref() {
                        if d.is_ascii_digit() {
                            n.push(d);
                        } else {
                            cmd = d;
                            break;
                        }
                    }
                    let n: usize = n.parse().unwrap_or(1);
                    match cmd {
                        'A' => row = row.saturating_sub(n),
                        'K' => lines[row].clear(),
                        _ => {}
                    }
                }
            }
            c => lines[row].push(c),
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_redraw_in_place_and_shrink_cleanly() {
        let mut r = LiveRegion::new(Some(12));
        let mut all = String::new();
        all.push_str(&r.frame(&["a: creating".into(), "b: waiting".into()]));
        all.push_str(&r.frame(&[
            "a: created".into(),
            "b: creating a long name".into(),
            "c: waiting".into(),
        ]));
        assert_eq!(
            screen(&all),
            vec!["a: created", "b: creating…", "c: waiting"]
        );
        all.push_str(&r.frame(&["done".into()]));
        assert_eq!(screen(&all), vec!["done"]);
    }

    #[test]
    fn elapsed_is_short() {
        assert_eq!(elapsed(Duration::from_millis(1234)), "1.2s");
        assert_eq!(elapsed(Duration::from_secs(42)), "42s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m05s");
    }
}
