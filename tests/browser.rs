//! The built book in a real browser: Debian's Chromium, driven over the DevTools protocol, reads every page as a
//! learner would. At 1280 × 900: no console error, uncaught exception or failed request; every code block fits
//! without scrolling; the text of every SVG diagram is at least 12 px as displayed. At 390 × 844 (a phone): nothing
//! sticks out sideways (code blocks and tables may scroll inside themselves). Search finds what learners look up,
//! print.html has every chapter's title. With BOOK_SCREENSHOTS=1, screenshots of every chapter at both widths are
//! left in target/book-screenshots/ for a person to look at (a third of the test's time: not taken in CI, where
//! nobody looks at them).
//!
//! Before the book, the same checks read a small fixture book with planted problems: each check must find its
//! problem there and nothing on the fixture's clean page. A check gone blind (a Chromium whose events the driver no
//! longer understands, an mdBook that renders differently) then fails here instead of passing quietly.
//!
//! Needs `chromium` (Debian's; CHROMIUM=/path overrides /usr/bin/chromium) and the pinned mdbook on PATH.

#[path = "browser/checks.rs"]
mod checks;
#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/fixture.rs"]
mod fixture;
#[path = "browser/measure.rs"]
mod measure;
#[path = "browser/server.rs"]
mod server;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use checks::{check_book, Report};
use fixture::{self_test, write_fixture, FIXTURE_TERMS};
use headless_chrome::{Browser, LaunchOptions};

const WIDE: (u32, u32) = (1280, 900);
const NARROW: (u32, u32) = (390, 844);
/// The smallest text a diagram may show, in CSS pixels as displayed at 1280 px.
const MIN_TEXT_PX: f64 = 12.0;
/// Words a learner of this workshop looks up; the search must find each.
const SEARCH_TERMS: [&str; 3] = ["advertised", "ISR", "rebalance"];
/// The same, in the Portuguese book.
const SEARCH_TERMS_PT_BR: [&str; 3] = ["anunciado", "ISR", "rebalanceamento"];
/// How long one page may take to load, and the search to answer.
const PAGE_LOAD: Duration = Duration::from_secs(20);
const SEARCH_WAIT: Duration = Duration::from_secs(10);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target folder (the parent of the folder it gives integration tests for their files).
fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(Path::to_path_buf).unwrap_or(tmp)
}

/// A missing tool fails the test with one screen that names the fix: CI must never skip this test.
fn missing(what: &str, why: &str, fix: &str) -> anyhow::Error {
    anyhow!(
        "\n\n  The browser test of the book needs {what}, which is {why}.\n  Fix: {fix}\n  \
         (CI installs both: .ci/podman.sh's install_packages and .ci/run's book step.)\n"
    )
}

fn chromium() -> Result<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        return Ok(path);
    }
    Err(missing(
        "Chromium",
        &format!("not at {}", path.display()),
        "apt-get install chromium   (Debian's package; or set CHROMIUM=/path/to/chromium)",
    ))
}

/// The mdbook version README.md pins (CI installs the same).
fn pinned_mdbook() -> Result<String> {
    let readme =
        std::fs::read_to_string(root().join("README.md")).context("Failed to read README.md")?;
    readme
        .split("mdbook --version ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .context("README.md pins no mdbook version (`cargo install mdbook --version X`)")
}

fn check_mdbook(pinned: &str) -> Result<()> {
    let fix = format!("cargo install mdbook --version {pinned} --locked");
    let output = match Command::new("mdbook").arg("--version").output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing(&format!("mdbook {pinned}"), "not on PATH", &fix));
        }
        Err(e) => return Err(e).context("Failed to run mdbook --version"),
    };
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if version != format!("mdbook v{pinned}") {
        println!("note: {version} on PATH, README.md pins {pinned} ({fix}); its pages may differ from CI's");
    }
    Ok(())
}

/// Builds `book` into `out`; in `language` (`pt-BR`) through its translation, else in English.
fn build_book(book: &Path, out: &Path, language: Option<&str>) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("Failed to remove {}", out.display()))?;
    }
    // `-d` is relative to the book's root unless absolute.
    let out = std::path::absolute(out)
        .with_context(|| format!("Failed to make {} absolute", out.display()))?;
    let mut mdbook = Command::new("mdbook");
    if let Some(language) = language {
        mdbook.env("MDBOOK_BOOK__LANGUAGE", language);
    }
    let output = mdbook
        .arg("build")
        .arg(book)
        .arg("-d")
        .arg(&out)
        .output()
        .context("Failed to run mdbook build")?;
    if !output.status.success() {
        bail!(
            "mdbook build {} failed:\n{}",
            book.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
fn launch(chromium: &Path, profile: &Path) -> Result<Browser> {
    if profile.exists() {
        std::fs::remove_dir_all(profile)
            .with_context(|| format!("Failed to remove {}", profile.display()))?;
    }
    std::fs::create_dir_all(profile)
        .with_context(|| format!("Failed to create {}", profile.display()))?;
    // No network here but the test's own server: nothing in the background may try to reach out.
    let args = [
        "--disable-quic",
        "--disable-component-update",
        "--disable-background-networking",
        "--disable-sync",
    ];
    let options = LaunchOptions::default_builder()
        .path(Some(chromium.to_path_buf()))
        .headless(true)
        .sandbox(false) // root in CI
        .user_data_dir(Some(profile.to_path_buf()))
        .window_size(Some(WIDE))
        .args(args.iter().map(OsStr::new).collect())
        .idle_browser_timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| anyhow!("{e}"))?;
    Browser::new(options).map_err(|e| {
        missing(
            "a Chromium that starts",
            &format!("at {} but did not start: {e:#}", chromium.display()),
            "apt-get install chromium   (Debian's package; the test runs it headless, as root, without a sandbox)",
        )
    })
}

#[test]
fn book_in_a_browser() -> Result<()> {
    let started = Instant::now();
    let chromium = chromium()?;
    let pinned = pinned_mdbook()?;
    check_mdbook(&pinned)?;
    let target = target_dir();
    let work = target.join("browser-test");
    let fixture_dir = work.join("fixture");
    write_fixture(&fixture_dir)?;
    build_book(&fixture_dir, &fixture_dir.join("book"), None)?;
    build_book(&root().join("book"), &work.join("book"), None)?;
    build_book(&root().join("book"), &work.join("book-pt-BR"), Some("pt-BR"))?;
    let browser = launch(&chromium, &work.join("profile"))?;

    let fixture = check_book(&browser, "fixture", &fixture_dir.join("book"), &FIXTURE_TERMS, None)?;
    let mut report = Report::default();
    self_test(&fixture, &mut report);

    let screenshots = target.join("book-screenshots");
    let shots = std::env::var_os("BOOK_SCREENSHOTS").is_some_and(|v| !v.is_empty() && v != "0");
    let book = check_book(
        &browser,
        "book",
        &work.join("book"),
        &SEARCH_TERMS,
        shots.then_some(screenshots.as_path()),
    )?;
    let c = &book.counts;
    let nothing = [
        (c.chapters == 0, "no chapter pages in the built book"),
        (c.code_blocks == 0, "no code block measured on any page"),
        (c.diagrams == 0, "no SVG diagram (an <img> of an .svg file) on any page"),
        (c.diagram_texts == 0, "no text in any SVG diagram: the legibility check measured nothing"),
        (c.print_titles == 0, "no h1 title in print.html: the print check compared nothing"),
    ];
    for (vacuous, problem) in nothing {
        if vacuous {
            report.add(
                "book",
                problem,
                "the test would pass without checking anything: fix the test or the book",
            );
        }
    }
    report.failures.extend(book.report.failures);
    // The Portuguese book: its own words are searched, and its longer words must fit too.
    let portuguese = check_book(
        &browser,
        "book (pt-BR)",
        &work.join("book-pt-BR"),
        &SEARCH_TERMS_PT_BR,
        shots.then(|| screenshots.join("pt-BR")).as_deref(),
    )?;
    report.failures.extend(portuguese.report.failures);

    let where_shots = if shots {
        format!(
            "screenshots of every chapter at {} and {} px are in {}",
            WIDE.0,
            NARROW.0,
            screenshots.display()
        )
    } else {
        format!(
            "no screenshots taken; BOOK_SCREENSHOTS=1 cargo test --test browser leaves them in {}",
            screenshots.display()
        )
    };
    // Straight to stderr, past the test harness's capture: a person looks for these even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "\nbrowser test: read {} pages ({} chapters), {} code blocks, {} diagrams, {} searches in {:.1} s\n\
         browser test: {where_shots}",
        c.pages,
        c.chapters,
        c.code_blocks,
        c.diagrams,
        c.searches,
        started.elapsed().as_secs_f64(),
    );
    if !report.failures.is_empty() {
        bail!(
            "{} problems in the book as a browser shows it (page — problem — fix):\n{}\n\n{where_shots}",
            report.failures.len(),
            report.lines().join("\n"),
        );
    }
    Ok(())
}
