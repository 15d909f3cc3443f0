//! `lesson collect ingest --watch`: a live source. The collector sends what storage lacks, then keeps
//! running: a file written into the source folder (or changed), a line added to the events file, is sent
//! as soon as the writing stops, and the sink running beside it stores it within seconds. The operating
//! system says when something changed (inotify, FSEvents): nothing is scanned on a timer.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedReceiver;

use super::ingest::Seen;
use super::Capstone;

/// How long the source must stay still before a round: a file being copied in changes many times a second.
const STILL: Duration = Duration::from_millis(300);
/// A source that never stays still (a log appended to all the time) still gets a round this often.
const AT_MOST: Duration = Duration::from_secs(2);
/// A file written this recently is left for the next round: a download or a copy may only have paused.
const YOUNG: Duration = Duration::from_secs(1);

/// Collects until stopped (Ctrl-C), printing what each round sent.
pub async fn watch(capstone: &Capstone, bootstrap: &str) -> Result<()> {
    let (sender, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let paths = &capstone.paths;
    let (source, events) = (paths.source.clone(), paths.events.clone());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads and opens change nothing, nor does anything else in the events file's folder; an error
        // (the watch overflowed) may hide a change: look again.
        let relevant = event.map_or(true, |e| {
            !matches!(e.kind, EventKind::Access(_))
                && e.paths.iter().any(|p| p.starts_with(&source) || *p == events)
        });
        if relevant {
            let _ = sender.send(());
        }
    })
    .context(t!("Failed to watch for changes"))?;
    watch_path(&mut watcher, &paths.source, RecursiveMode::Recursive)?;
    // The folder holding the events file: an editor saves by replacing the file.
    if let Some(folder) = paths.events.parent().filter(|folder| folder.is_dir()) {
        watch_path(&mut watcher, folder, RecursiveMode::NonRecursive)?;
    }
    let mut seen = Seen::leaving_young(YOUNG);
    // One producer for every round: connected once, not at every change.
    let producer = super::ingest::producer(bootstrap).await?;
    let mut said = std::collections::HashSet::new();
    let mut first = true;
    loop {
        let mut report = match capstone.ingest_unseen(&producer, &mut seen).await {
            Ok(report) => report,
            Err(err) if first => return Err(err),
            // A round that failed (the store did not answer, Kafka was restarting) is tried again within a
            // second, or at the next change: what it did not send is still unseen.
            Err(err) => {
                eprintln!("✗ {err:#}");
                if !settled(&mut changes, true).await {
                    return Ok(());
                }
                continue;
            }
        };
        // What cannot be sent is said once, not at every round.
        report.refused.retain(|refused| said.insert(refused.clone()));
        if first || report.files + report.events > 0 || !report.refused.is_empty() {
            print!("{}", report.summary());
        }
        if first {
            println!(
                "{}",
                t!(
                    "watching {folder} and {events}: each new or changed file and event is sent as it appears \
                     (Ctrl-C stops)",
                    folder = paths.source.display(),
                    events = paths.events.display()
                )
            );
            first = false;
        }
        if !settled(&mut changes, seen.left_young).await {
            return Ok(());
        }
    }
}

fn watch_path(watcher: &mut impl Watcher, path: &Path, mode: RecursiveMode) -> Result<()> {
    watcher
        .watch(path, mode)
        .with_context(|| t!("Failed to watch {path} for changes", path = path.display()))
}

/// Waits for a change (or, when a file was left for being young, for it to age), then for the source to
/// stay still (at most AT_MOST); false when the watcher is gone.
async fn settled(changes: &mut UnboundedReceiver<()>, left_young: bool) -> bool {
    let changed = if left_young {
        tokio::time::timeout(YOUNG, changes.recv()).await.unwrap_or(Some(()))
    } else {
        changes.recv().await
    };
    if changed.is_none() {
        return false;
    }
    let first = tokio::time::Instant::now();
    loop {
        let still = STILL.min(AT_MOST.saturating_sub(first.elapsed()));
        match tokio::time::timeout(still, changes.recv()).await {
            Ok(Some(())) => continue,
            Ok(None) => return false,
            Err(_still) => return true,
        }
    }
}
