//! One status line while waiting: rewritten in place on a terminal, printed once per change otherwise.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long the program may wait without saying what for.
const SILENCE: Duration = Duration::from_secs(1);

/// What the program waits for now, innermost last, while a `reporting` command shows it.
static WAITING_FOR: Mutex<Vec<String>> = Mutex::new(Vec::new());
static REPORTING: AtomicBool = AtomicBool::new(false);
/// When a line of the program's own was last printed (`say`): a wait after it is shown again.
static SAID_AT: Mutex<Option<Instant>> = Mutex::new(None);

fn labels() -> std::sync::MutexGuard<'static, Vec<String>> {
    WAITING_FOR.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct Progress {
    tty: bool,
    last: String,
    /// Under `reporting`, this progress names what is waited for instead of printing it.
    labelled: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress { tty: std::io::stderr().is_terminal(), last: String::new(), labelled: false }
    }
}

impl Progress {
    pub fn update(&mut self, waiting_for: &str, elapsed: Duration) {
        if REPORTING.load(Ordering::Relaxed) || self.labelled {
            let mut labels = labels();
            if self.labelled {
                labels.pop();
            }
            labels.push(waiting_for.to_string());
            self.labelled = true;
            return;
        }
        self.show(waiting_for, elapsed);
    }

    fn show(&mut self, waiting_for: &str, elapsed: Duration) {
        let mut err = std::io::stderr();
        if self.tty {
            let seconds = elapsed.as_secs();
            let _ = write!(
                err,
                "\r\x1b[2K⏳ {}",
                t!("waiting for {waiting_for} ({seconds}s)", waiting_for, seconds)
            );
            let _ = err.flush();
        } else if self.last != waiting_for {
            let _ = writeln!(err, "{}", t!("waiting for {waiting_for}", waiting_for));
        }
        self.last = waiting_for.to_string();
    }

    /// Under `reporting`, names what is waited for from now on, before there is anything to show.
    pub fn label(&mut self, waiting_for: &str) {
        if REPORTING.load(Ordering::Relaxed) {
            self.update(waiting_for, Duration::ZERO);
        }
    }

    pub fn finish(&mut self) {
        if self.labelled {
            labels().pop();
            self.labelled = false;
        }
        if self.tty && !self.last.is_empty() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
        self.last.clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.labelled {
            labels().pop();
        }
    }
}

/// The innermost wait named under `reporting`.
fn waiting_for() -> Option<String> {
    labels().last().cloned()
}

/// Prints a line of its own to stderr, over the status line if one is shown (it is drawn again).
pub fn say(line: &str) {
    let clear = if std::io::stderr().is_terminal() { "\r\x1b[2K" } else { "" };
    let _ = writeln!(std::io::stderr(), "{clear}{line}");
    *SAID_AT.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
}

/// Prints a line of a command's output to stdout as it happens, over the status line if one is shown.
pub fn print(line: &str) {
    if std::io::stderr().is_terminal() {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    let _ = writeln!(std::io::stdout(), "{line}");
    *SAID_AT.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
}

/// Runs a whole command; whenever it has run a second, shows what it waits for now: the innermost
/// `while_running` or progress, else `what`. No wait is silent, however short each of its steps.
pub async fn reporting<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    REPORTING.store(true, Ordering::Relaxed);
    // Dropped unfinished too (Ctrl-C): what runs next reports for itself again.
    let _reported = Reported;
    let mut progress = Progress::default();
    let start = std::time::Instant::now();
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        _ = tokio::time::sleep(SILENCE) => {}
    }
    let mut shown_at = Instant::now();
    loop {
        let now = waiting_for().unwrap_or_else(|| what.to_string());
        let said_at = *SAID_AT.lock().unwrap_or_else(PoisonError::into_inner);
        if said_at.is_some_and(|at| at > shown_at && at.elapsed() > SILENCE) {
            // The program printed lines of its own since, and has been silent for a second: say again what for.
            progress.last.clear();
        }
        if progress.last != now {
            shown_at = Instant::now();
        }
        progress.show(&now, start.elapsed());
        tokio::select! {
            result = &mut work => {
                progress.finish();
                return result;
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

struct Reported;

impl Drop for Reported {
    fn drop(&mut self) {
        REPORTING.store(false, Ordering::Relaxed);
        labels().clear();
    }
}

/// Runs `work`; once it has taken a second, shows `what` it waits for and the seconds spent until it finishes.
/// Under `reporting`, names `what` for it instead.
pub async fn while_running<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    if REPORTING.load(Ordering::Relaxed) {
        let mut progress = Progress::default();
        progress.update(what, Duration::ZERO);
        let result = work.await;
        progress.finish();
        return result;
    }
    let mut progress = Progress::default();
    let start = std::time::Instant::now();
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    loop {
        progress.update(what, start.elapsed());
        tokio::select! {
            result = &mut work => {
                progress.finish();
                return result;
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reported_command_names_its_innermost_wait() {
        let seen = reporting("the command", async {
            let inner = while_running("the inner step", async { waiting_for() }).await;
            let mut progress = Progress::default();
            progress.label("the stack");
            progress.update("ZooKeeper", Duration::ZERO);
            let updated = waiting_for();
            progress.finish();
            (inner, updated, waiting_for())
        })
        .await;
        assert_eq!(seen, (Some("the inner step".into()), Some("ZooKeeper".into()), None));
        assert!(!REPORTING.load(Ordering::Relaxed) && waiting_for().is_none());
    }
}
