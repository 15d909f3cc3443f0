//! One status line while waiting: rewritten in place on a terminal, printed once per change otherwise.

use std::io::{IsTerminal, Write};
use std::time::Duration;

pub struct Progress {
    tty: bool,
    last: String,
}

impl Default for Progress {
    fn default() -> Self {
        Progress { tty: std::io::stderr().is_terminal(), last: String::new() }
    }
}

impl Progress {
    pub fn update(&mut self, waiting_for: &str, elapsed: Duration) {
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K⏳ waiting for {waiting_for} ({}s)", elapsed.as_secs());
            let _ = err.flush();
        } else if self.last != waiting_for {
            let _ = writeln!(err, "waiting for {waiting_for}");
        }
        self.last = waiting_for.to_string();
    }

    pub fn finish(&mut self) {
        if self.tty && !self.last.is_empty() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
        self.last.clear();
    }
}

/// Runs `work`; once it has taken a second, shows `what` it waits for and the seconds spent until it finishes.
pub async fn while_running<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
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
