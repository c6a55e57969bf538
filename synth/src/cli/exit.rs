//! The exit codes of every `banca` command.

/// How a command ended, and the process exit code it maps to.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success: nothing to report, or the work was done |
/// | 1 | the command worked and found something: differences (`diff --fail`), drift (`drift --fail`), compliance findings (`check`) |
/// | 2 | an error: bad input, AWS refused or failed, a deploy rolled back |
///
/// Soft errors (one stack of many failed) let the command continue but keep the worst status:
/// combine statuses with [`ExitStatus::worst`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitStatus {
    /// 0: done, nothing found.
    Success,
    /// 1: differences, drift or findings were found.
    Failure,
    /// 2: an error.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }

    /// The more severe of the two.
    #[must_use]
    pub fn worst(self, other: ExitStatus) -> ExitStatus {
        self.max(other)
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones_and_worst_wins() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failure.code(), 1);
        assert_eq!(ExitStatus::Error.code(), 2);
        assert_eq!(
            ExitStatus::Failure.worst(ExitStatus::Success),
            ExitStatus::Failure
        );
        assert_eq!(
            ExitStatus::Failure.worst(ExitStatus::Error),
            ExitStatus::Error
        );
    }
}
