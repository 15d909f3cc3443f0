//! The built book in a real browser: Debian's Chromium, driven over the DevTools protocol, reads every page as a
//! learner would. At 1280 × 900: no console error, uncaught exception or failed request; every code block fits
//! without scrolling; the text of every SVG diagram is at least 12 px as displayed. At 390 × 844 (a phone): nothing
//! sticks out sideways (code blocks and tables may scroll inside themselves). Search finds what learners look up,
//! print.html has every chapter's title, and screenshots of every chapter at both widths are left in
//! target/book-screenshots/ for a person to look at.
//!
//! Before the book, the same checks read a small fixture book with planted problems: each check must find its
//! problem there and nothing on the fixture's clean page. A check gone blind (a Chromium whose events the driver no
//! longer understands, an mdBook that renders differently) then fails here instead of passing quietly.
//!
//! Needs `chromium` (Debian's; CHROMIUM=/path overrides /usr/bin/chromium) and the pinned mdbook on PATH.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Log, Network, Page, Runtime};
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::{json, Value};

const WIDE: (u32, u32) = (1280, 900);
const NARROW: (u32, u32) = (390, 844);
/// The smallest text a diagram may show, in CSS pixels as displayed at 1280 px.
const MIN_TEXT_PX: f64 = 12.0;
/// Words a learner of this workshop looks up; the search must find each.
const SEARCH_TERMS: [&str; 3] = ["advertised", "ISR", "rebalance"];
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

fn build_book(book: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("Failed to remove {}", out.display()))?;
    }
    // `-d` is relative to the book's root unless absolute.
    let out = std::path::absolute(out)
        .with_context(|| format!("Failed to make {} absolute", out.display()))?;
    let output = Command::new("mdbook")
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

// ---------------------------------------------------------------------------------------------------------------
// A static file server on 127.0.0.1, one thread per connection, one request per connection.

fn serve(folder: PathBuf) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("Failed to listen on 127.0.0.1")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let folder = folder.clone();
            std::thread::spawn(move || {
                // A browser that hangs up early is no failure of the book.
                let _ = respond(&folder, stream);
            });
        }
    });
    Ok(format!("http://{address}/"))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(OsStr::to_str).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn respond(folder: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut words = request.split_whitespace();
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut file = folder.to_path_buf();
    let mut escapes = false;
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        escapes |= part == "..";
        file.push(part);
    }
    if file.is_dir() {
        file.push("index.html");
    }
    let found = if escapes { None } else { std::fs::read(&file).ok() };
    let (status, kind, body) = match found {
        Some(body) => ("200 OK", content_type(&file), body),
        None => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n".to_vec()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

// ---------------------------------------------------------------------------------------------------------------
// The browser: what it reports (DevTools events) and how to ask it things.

/// What the DevTools events of the page being read showed.
#[derive(Default)]
struct Seen {
    /// Console errors, uncaught exceptions, failed requests: (problem, fix hint).
    problems: Vec<(String, &'static str)>,
    urls: HashMap<String, String>,
    in_flight: HashSet<String>,
    /// URLs of every response received: proof that the events arrive and are understood.
    responses: Vec<String>,
}

const HINT_SCRIPT: &str =
    "open the page with the browser's console and fix the script or HTML that raised it";
const HINT_REQUEST: &str = "fix the path in the chapter, or add the file it names to book/src";

fn remote_text(object: &Runtime::RemoteObject) -> String {
    match (&object.value, &object.description) {
        (Some(Value::String(s)), _) => s.clone(),
        (Some(value), _) => value.to_string(),
        (None, Some(description)) => description.clone(),
        (None, None) => format!("{:?}", object.Type),
    }
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

impl Seen {
    fn record(&mut self, event: &Event) {
        match event {
            Event::RuntimeConsoleAPICalled(e) => {
                use Runtime::ConsoleAPICalledEventTypeOption as Type;
                if matches!(e.params.Type, Type::Error | Type::Assert) {
                    let text: Vec<String> = e.params.args.iter().map(remote_text).collect();
                    self.problems.push((
                        format!("console error: {}", first_line(&text.join(" "), 200)),
                        HINT_SCRIPT,
                    ));
                }
            }
            Event::RuntimeExceptionThrown(e) => {
                let details = &e.params.exception_details;
                let text = details.exception.as_ref().and_then(|x| x.description.clone());
                let text = text.unwrap_or_else(|| details.text.clone());
                let place = details.url.clone().unwrap_or_default();
                let place = place.rsplit('/').next().unwrap_or("").to_string();
                self.problems.push((
                    format!(
                        "uncaught exception: {} (at {place}:{})",
                        first_line(&text, 200),
                        details.line_number + 1
                    ),
                    HINT_SCRIPT,
                ));
            }
            Event::LogEntryAdded(e) => {
                let entry = &e.params.entry;
                // Failed requests are reported once, from the Network events below.
                if entry.level == Log::LogEntryLevel::Error
                    && entry.source != Log::LogEntrySource::Network
                {
                    self.problems.push((
                        format!(
                            "browser error ({:?}): {}",
                            entry.source,
                            first_line(&entry.text, 200)
                        ),
                        HINT_SCRIPT,
                    ));
                }
            }
            Event::NetworkRequestWillBeSent(e) => {
                self.urls.insert(e.params.request_id.clone(), e.params.request.url.clone());
                self.in_flight.insert(e.params.request_id.clone());
            }
            Event::NetworkResponseReceived(e) => {
                let response = &e.params.response;
                self.responses.push(response.url.clone());
                if response.status >= 400 {
                    self.problems.push((
                        format!(
                            "HTTP {} {} for {}",
                            response.status, response.status_text, response.url
                        ),
                        HINT_REQUEST,
                    ));
                }
            }
            Event::NetworkLoadingFinished(e) => {
                self.in_flight.remove(&e.params.request_id);
            }
            Event::NetworkLoadingFailed(e) => {
                self.in_flight.remove(&e.params.request_id);
                let url =
                    self.urls.get(&e.params.request_id).cloned().unwrap_or_else(|| "?".to_string());
                // A 404 fails loading too; its status was reported already.
                let reported =
                    self.problems.iter().any(|(p, _)| p.starts_with("HTTP ") && p.ends_with(&url));
                if !reported {
                    self.problems.push((
                        format!("request failed ({}) for {url}", e.params.error_text),
                        HINT_REQUEST,
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Builds a DevTools command from its JSON form (every optional field left out).
fn cdp<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).context("Failed to build a DevTools command")
}

struct Driver {
    tab: Arc<Tab>,
    /// A second tab that opens the SVG files themselves, to read their text sizes.
    svg_tab: Arc<Tab>,
    seen: Arc<Mutex<Seen>>,
}

impl Driver {
    fn new(browser: &Browser) -> Result<Self> {
        let tab = browser.new_tab().context("Failed to open a tab")?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = Arc::clone(&seen);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            if let Ok(mut seen) = sink.lock() {
                seen.record(event);
            }
        }))?;
        tab.enable_runtime()?;
        tab.enable_log()?;
        tab.call_method(cdp::<Network::Enable>(json!({}))?)?;
        let svg_tab = browser.new_tab().context("Failed to open a second tab")?;
        Ok(Self { tab, svg_tab, seen })
    }

    fn seen(&self) -> Result<std::sync::MutexGuard<'_, Seen>> {
        self.seen.lock().map_err(|_| anyhow!("the DevTools event handler panicked"))
    }

    fn viewport(&self, (width, height): (u32, u32)) -> Result<()> {
        let metrics =
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
        self.tab.call_method(cdp::<Emulation::SetDeviceMetricsOverride>(metrics)?)?;
        Ok(())
    }

    /// Opens `url` and waits until it has loaded, its fonts are ready and no request is in flight.
    fn load(&self, url: &str) -> Result<()> {
        // The old document is marked, so that its `complete` is never taken for the new one's.
        let _ = eval(&self.tab, "window.__bookTestStale = true");
        *self.seen()? = Seen::default();
        self.tab.navigate_to(url).with_context(|| format!("Failed to open {url}"))?;
        let ready = format!(
            "!window.__bookTestStale && location.href === {} && document.readyState === 'complete' \
             && document.fonts.ready.then(() => true)",
            js_string(url)
        );
        wait_until(
            &format!("{url} to load (readyState complete, fonts ready, no request in flight)"),
            PAGE_LOAD,
            || {
                if eval(&self.tab, &ready)? != Value::Bool(true) {
                    return Ok(None);
                }
                let seen = self.seen()?;
                Ok(seen.in_flight.is_empty().then_some(()))
            },
        )
    }

    /// The problems that the DevTools events showed since `url` was opened.
    fn problems(&self, url: &str) -> Result<Vec<(String, &'static str)>> {
        let seen = self.seen()?;
        let mut problems = seen.problems.clone();
        if !seen.responses.iter().any(|r| r == url) {
            problems.push((
                format!(
                    "no DevTools event for the page's own response (saw {}): the error checks are blind",
                    seen.responses.len()
                ),
                "does headless_chrome still understand this Chromium's protocol? (cargo update -p headless_chrome)",
            ));
        }
        Ok(problems)
    }

    fn screenshot(&self, file: &Path) -> Result<()> {
        // A tab behind another draws no frames: a screenshot of it waits for minutes.
        self.tab.bring_to_front()?;
        let size = eval(
            &self.tab,
            "[Math.max(document.documentElement.scrollWidth, window.innerWidth), \
              Math.max(document.documentElement.scrollHeight, document.body.scrollHeight, window.innerHeight)]",
        )?;
        let (width, height) = (size[0].as_f64().unwrap_or(0.0), size[1].as_f64().unwrap_or(0.0));
        let capture = json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        });
        let data = self.tab.call_method(cdp::<Page::CaptureScreenshot>(capture)?)?.data;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .context("screenshot is not base64")?;
        std::fs::write(file, png).with_context(|| format!("Failed to write {}", file.display()))
    }
}

fn js_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// Runs `expression` in the page (promises awaited) and returns its value as JSON.
fn eval(tab: &Tab, expression: &str) -> Result<Value> {
    let call = json!({"expression": expression, "returnByValue": true, "awaitPromise": true, "silent": true});
    let answer = tab.call_method(cdp::<Runtime::Evaluate>(call)?)?;
    if let Some(details) = answer.exception_details {
        let text = details.exception.and_then(|e| e.description).unwrap_or(details.text);
        bail!("script failed in the page: {}", first_line(&text, 300));
    }
    Ok(answer.result.value.unwrap_or(Value::Null))
}

/// Polls `probe` until it gives a value, for at most `limit`; the error names what it waited for.
fn wait_until<T>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("gave up after {} s waiting for {what}", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// What the pages are measured with.

/// Every `pre` block: whether it (or its `code`) scrolls sideways, its first line, widest line in columns and how
/// many columns fit in its box.
const CODE_JS: &str = r#"
(() => [...document.querySelectorAll('main pre, .content pre')].filter((p, i, all) => all.indexOf(p) === i).map(pre => {
    const code = pre.querySelector(':scope > code') || pre;
    const over = [pre, code].find(e => e.scrollWidth > e.clientWidth + 1);
    const box = over || code;
    const lines = code.innerText.replace(/\n$/, '').split('\n');
    const tab = parseInt(getComputedStyle(code).tabSize) || 8;
    const length = l => [...l].reduce((col, c) => c === '\t' ? col + tab - col % tab : col + 1, 0);
    const widest = lines.reduce((a, b) => length(b) > length(a) ? b : a, '');
    const probe = document.createElement('span');
    probe.textContent = '0'.repeat(100);
    code.appendChild(probe);
    const column = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const style = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return {
        overflows: !!over,
        first: (lines.find(l => l.trim()) || '').trim(),
        widest: widest.trim(),
        columns: length(widest),
        fits: column > 0 ? Math.floor(inner / column) : 0,
        scroll: box.scrollWidth, client: box.clientWidth,
    };
}))()
"#;

/// Every `img` showing an .svg file, with its size on screen.
const SVG_IMAGES_JS: &str = r#"
[...document.querySelectorAll('img')]
    .filter(img => /\.svg$/i.test(new URL(img.src, location.href).pathname))
    .map(img => {
        const r = img.getBoundingClientRect();
        return {file: img.getAttribute('src'), url: img.src, width: r.width, height: r.height,
                loaded: img.complete && img.naturalWidth > 0};
    })
"#;

/// In an SVG file opened by itself: its viewBox and smallest text. The font sizes are the browser's computed ones,
/// in the file's own units: font-size attributes, style attributes, <style> rules, the root's default and
/// inheritance, all as an <img> renders them.
const SVG_TEXT_JS: &str = r#"
(() => {
    const root = document.documentElement;
    if (!root || root.namespaceURI !== 'http://www.w3.org/2000/svg') return {error: 'is not an SVG document'};
    const vb = root.viewBox && root.viewBox.baseVal;
    const box = vb && vb.width > 0 ? {w: vb.width, h: vb.height}
                                   : {w: root.width.baseVal.value, h: root.height.baseVal.value};
    let min = null, sample = '', texts = 0;
    for (const el of root.querySelectorAll('text, tspan, textPath')) {
        const own = [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join('').trim();
        if (!own) continue;
        texts++;
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (min === null || size < min) { min = size; sample = own.slice(0, 40); }
    }
    return {w: box.w, h: box.h, min, sample, texts};
})()
"#;

/// At a phone's width: whether the page scrolls sideways (the document, or a block around `main`: mdBook's `.content`
/// scrolls by itself), and the outermost elements that reach past the right edge outside a block of their own that
/// scrolls (a code block or a table in its wrapper may scroll: that is fine).
const NARROW_JS: &str = r#"
(() => {
    const width = window.innerWidth;
    const main = document.querySelector('main') || document.body;
    const scroller = a => ['auto', 'scroll'].includes(getComputedStyle(a).overflowX);
    const inOwnScroller = el => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            if (scroller(a) && !a.contains(main)) return true;
        }
        return false;
    };
    const out = el => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || r.right <= width + 1) return false;
        const s = getComputedStyle(el);
        return s.visibility !== 'hidden' && s.display !== 'none' && !inOwnScroller(el);
    };
    const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + [...el.classList].map(c => '.' + c).join('');
    const pages = [];
    for (let a = main; a; a = a.parentElement) {
        if ((a === document.documentElement || scroller(a)) && a.scrollWidth > Math.max(a.clientWidth, width) + 1) {
            pages.push({what: a === document.documentElement ? 'the document' : name(a), width: a.scrollWidth});
        }
    }
    const sticking = [];
    for (const el of document.body.querySelectorAll('*')) {
        if (el.closest('#mdbook-sidebar, #sidebar, .sidebar')) continue;
        if (!out(el)) continue;
        if (el.parentElement !== document.body && out(el.parentElement)) continue;
        sticking.push({what: name(el), right: Math.round(el.getBoundingClientRect().right),
                       text: (el.innerText || el.textContent || '').trim().split('\n')[0].slice(0, 50)});
    }
    return {width, pages, sticking};
})()
"#;

const H1_JS: &str = "[...document.querySelectorAll('main h1')].map(h => h.textContent.trim())";

// ---------------------------------------------------------------------------------------------------------------
// The checks, on one built book.

struct Failure {
    pages: Vec<String>,
    problem: String,
    hint: String,
}

/// Every failure found, the same problem on several pages (a chapter and print.html) listed once.
#[derive(Default)]
struct Report {
    failures: Vec<Failure>,
}

impl Report {
    fn add(&mut self, page: &str, problem: impl Into<String>, hint: impl Into<String>) {
        let (problem, hint) = (problem.into(), hint.into());
        if let Some(f) = self.failures.iter_mut().find(|f| f.problem == problem && f.hint == hint) {
            if !f.pages.iter().any(|p| p == page) {
                f.pages.push(page.to_string());
            }
            return;
        }
        self.failures.push(Failure { pages: vec![page.to_string()], problem, hint });
    }

    fn has(&self, page: &str, problem: &str) -> bool {
        self.failures
            .iter()
            .any(|f| f.pages.iter().any(|p| p == page) && f.problem.contains(problem))
    }

    fn lines(&self) -> Vec<String> {
        self.failures
            .iter()
            .map(|f| format!("- {} — {} — {}", f.pages.join(", "), f.problem, f.hint))
            .collect()
    }
}

#[derive(Default, Debug)]
struct Counts {
    chapters: usize,
    pages: usize,
    code_blocks: usize,
    diagrams: usize,
    diagram_texts: usize,
    searches: usize,
    print_titles: usize,
}

struct Outcome {
    report: Report,
    counts: Counts,
}

/// The pages of a built book: (chapters, every page to read = chapters + index.html + print.html).
fn pages(folder: &Path) -> Result<(Vec<String>, Vec<String>)> {
    fn walk(folder: &Path, prefix: &str, found: &mut Vec<String>) -> Result<()> {
        let entries = std::fs::read_dir(folder)
            .with_context(|| format!("Failed to read {}", folder.display()))?;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}/"), found)?;
            } else if name.ends_with(".html") {
                // A fragment (mdBook's toc.html for browsers without scripts) is no page.
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if text.contains("<html") {
                    found.push(format!("{prefix}{name}"));
                }
            }
        }
        Ok(())
    }
    let mut all = Vec::new();
    walk(folder, "", &mut all)?;
    all.sort();
    let special = ["index.html", "print.html", "404.html", "toc.html"];
    let chapters: Vec<String> =
        all.iter().filter(|p| !special.contains(&p.as_str())).cloned().collect();
    let mut every = chapters.clone();
    every.extend(["index.html".to_string(), "print.html".to_string()]);
    Ok((chapters, every))
}

struct Diagram {
    width: f64,
    height: f64,
    min: Option<f64>,
    sample: String,
    texts: u64,
}

fn diagram(driver: &Driver, url: &str, cache: &mut HashMap<String, Diagram>) -> Result<()> {
    if cache.contains_key(url) {
        return Ok(());
    }
    let _ = eval(&driver.svg_tab, "window.__bookTestStale = true");
    driver.svg_tab.navigate_to(url)?;
    let ready = format!(
        "!window.__bookTestStale && location.href === {} && document.readyState === 'complete'",
        js_string(url)
    );
    wait_until(&format!("{url} to open"), PAGE_LOAD, || {
        Ok((eval(&driver.svg_tab, &ready)? == json!(true)).then_some(()))
    })?;
    let info = eval(&driver.svg_tab, SVG_TEXT_JS)?;
    if let Some(error) = info["error"].as_str() {
        bail!("{url} {error}");
    }
    cache.insert(
        url.to_string(),
        Diagram {
            width: info["w"].as_f64().unwrap_or(0.0),
            height: info["h"].as_f64().unwrap_or(0.0),
            min: info["min"].as_f64(),
            sample: info["sample"].as_str().unwrap_or("").to_string(),
            texts: info["texts"].as_u64().unwrap_or(0),
        },
    );
    Ok(())
}

fn check_code(page: &str, blocks: &Value, report: &mut Report, counts: &mut Counts) {
    for block in blocks.as_array().into_iter().flatten() {
        counts.code_blocks += 1;
        if block["overflows"] != json!(true) {
            continue;
        }
        let fits = block["fits"].as_u64().unwrap_or(0);
        report.add(
            page,
            format!(
                "code block `{}` is {} columns wide, {fits} fit at {} px (widest line: `{}`)",
                first_line(block["first"].as_str().unwrap_or(""), 60),
                block["columns"],
                WIDE.0,
                first_line(block["widest"].as_str().unwrap_or(""), 60),
            ),
            format!("wrap or shorten its lines to at most {fits} columns (in the file the chapter includes, if any)"),
        );
    }
}

fn check_diagrams(
    driver: &Driver,
    book: &str,
    page: &str,
    images: &Value,
    cache: &mut HashMap<String, Diagram>,
    report: &mut Report,
    counts: &mut Counts,
) -> Result<()> {
    for image in images.as_array().into_iter().flatten() {
        let file = image["file"].as_str().unwrap_or("?");
        let url = image["url"].as_str().unwrap_or("");
        if image["loaded"] != json!(true) {
            report.add(page, format!("diagram {file} did not load"), HINT_REQUEST);
            continue;
        }
        let (shown_w, shown_h) =
            (image["width"].as_f64().unwrap_or(0.0), image["height"].as_f64().unwrap_or(0.0));
        if shown_w <= 0.0 {
            // Not displayed: mdBook 0.5 keeps a hidden copy of each image, shown enlarged on a click.
            continue;
        }
        if let Err(e) = diagram(driver, url, cache) {
            report.add(
                page,
                format!("diagram {file} could not be read: {e:#}"),
                "make it a plain SVG file",
            );
            continue;
        }
        let Some(svg) = cache.get(url) else { continue };
        counts.diagrams += 1;
        let Some(min) = svg.min else { continue };
        counts.diagram_texts += svg.texts as usize;
        if svg.width <= 0.0 {
            report.add(
                page,
                format!("diagram {file} has no size (no viewBox, width or height)"),
                "give it a viewBox",
            );
            continue;
        }
        // As an <img> scales it (preserveAspectRatio's default, `meet`): the smaller of the two ratios.
        let scale = (shown_w / svg.width).min(if svg.height > 0.0 {
            shown_h / svg.height
        } else {
            f64::MAX
        });
        let shown = min * scale;
        println!("{book} {page}: {file}'s smallest text is {shown:.1} px as displayed ({shown_w:.0} px wide)");
        if shown < MIN_TEXT_PX {
            report.add(
                page,
                format!(
                    "diagram {file}: its smallest text (\"{}\", font-size {min} in a viewBox {} wide) is {shown:.1} px \
                     as displayed {shown_w:.0} px wide at {} px; at least {MIN_TEXT_PX} px is legible",
                    svg.sample, svg.width, WIDE.0
                ),
                format!(
                    "raise its smallest font-size to at least {:.0} (viewBox units), or narrow its viewBox",
                    (MIN_TEXT_PX / scale).ceil()
                ),
            );
        }
    }
    Ok(())
}

fn check_narrow(page: &str, layout: &Value, report: &mut Report) {
    let hint =
        "let it wrap or shrink (max-width: 100%), or put it in a block that scrolls by itself";
    let sticking: Vec<String> = layout["sticking"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "`{}` (\"{}\") reaches x = {} px",
                e["what"].as_str().unwrap_or("?"),
                e["text"].as_str().unwrap_or(""),
                e["right"]
            )
        })
        .collect();
    let scrolling: Vec<String> = layout["pages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{} is {} px wide", p["what"].as_str().unwrap_or("?"), p["width"]))
        .collect();
    if !scrolling.is_empty() {
        let culprits =
            if sticking.is_empty() { String::new() } else { format!(": {}", sticking.join("; ")) };
        report.add(
            page,
            format!(
                "at {} px the page scrolls sideways ({}){culprits}",
                NARROW.0,
                scrolling.join(", ")
            ),
            hint,
        );
    } else {
        for element in sticking {
            report.add(
                page,
                format!("at {} px {element}, past the screen's edge: it is cut off", NARROW.0),
                hint,
            );
        }
    }
}

/// Opens a page of the book; that it did not load goes to the report.
fn open(driver: &Driver, base: &str, page: &str, report: &mut Report) -> bool {
    let loaded = driver.load(&format!("{base}{page}"));
    if let Err(e) = &loaded {
        report.add(
            page,
            format!("did not load: {e:#}"),
            "open it in a browser and see what it waits for",
        );
    }
    loaded.is_ok()
}

/// Reports what the DevTools events showed while the page was open: read after its checks, so that an error
/// raised a moment after loading is seen too.
fn events(driver: &Driver, base: &str, page: &str, report: &mut Report) -> Result<()> {
    for (problem, hint) in driver.problems(&format!("{base}{page}"))? {
        report.add(page, problem, hint);
    }
    Ok(())
}

/// mdBook's search, used as a reader does: the toggle, then the words typed into the search bar.
fn check_search(
    driver: &Driver,
    base: &str,
    terms: &[&str],
    report: &mut Report,
    counts: &mut Counts,
) -> Result<()> {
    if !open(driver, base, "index.html", report) {
        return Ok(());
    }
    if let Err(e) = search(driver, terms, report, counts) {
        report.add(
            "index.html",
            format!("search: {e:#}"),
            "check mdBook's search ([output.html.search] in book.toml)",
        );
    }
    events(driver, base, "index.html", report)
}

fn search(driver: &Driver, terms: &[&str], report: &mut Report, counts: &mut Counts) -> Result<()> {
    let js = r#"
        window.__bar = () => document.getElementById('mdbook-searchbar') || document.getElementById('searchbar');
        window.__header = () => document.getElementById('mdbook-searchresults-header')
            || document.getElementById('searchresults-header');
        window.__results = () => document.getElementById('mdbook-searchresults') || document.getElementById('searchresults');
        (() => {
            const toggle = document.getElementById('mdbook-search-toggle') || document.getElementById('search-toggle');
            if (!toggle || !__bar() || !__header() || !__results()) return false;
            toggle.click();
            return true;
        })()
    "#;
    if eval(&driver.tab, js)? != json!(true) {
        report.add(
            "index.html",
            "no search toggle, search bar or results list",
            "keep [output.html.search] enabled",
        );
        return Ok(());
    }
    wait_until("the search bar to show after clicking the search toggle", SEARCH_WAIT, || {
        Ok((eval(&driver.tab, "__bar().offsetParent !== null")? == json!(true)).then_some(()))
    })?;
    for term in terms {
        let term_js = js_string(term);
        eval(
            &driver.tab,
            &format!(
                "(() => {{ __header().innerText = ''; const bar = __bar(); bar.focus(); bar.value = {term_js};
                 bar.dispatchEvent(new Event('input', {{bubbles: true}}));
                 bar.dispatchEvent(new KeyboardEvent('keyup', {{bubbles: true, key: {term_js}.slice(-1)}})); }})()"
            ),
        )?;
        let count = wait_until(
            &format!("search results for {term:?} (the results header naming it; is the search index loading?)"),
            SEARCH_WAIT,
            || {
                let found = eval(
                    &driver.tab,
                    &format!("__header().innerText.includes({term_js}) ? __results().children.length : null"),
                )?;
                Ok(found.as_u64())
            },
        );
        counts.searches += 1;
        match count {
            Ok(0) => report.add(
                "index.html",
                format!("search finds nothing for \"{term}\""),
                "the book never uses the word: explain it where a learner meets it (or in the glossary)",
            ),
            Ok(_) => {}
            Err(e) => report.add("index.html", format!("search for \"{term}\": {e:#}"), "check mdBook's search"),
        }
    }
    Ok(())
}

/// Reads every page of the book built in `folder`; screenshots of its chapters go to `screenshots`, if given.
fn check_book(
    browser: &Browser,
    name: &str,
    folder: &Path,
    terms: &[&str],
    screenshots: Option<&Path>,
) -> Result<Outcome> {
    let base = serve(folder.to_path_buf())?;
    let driver = Driver::new(browser)?;
    let (chapters, pages) = pages(folder)?;
    let mut report = Report::default();
    let mut counts = Counts { chapters: chapters.len(), ..Counts::default() };
    for page in ["index.html", "print.html"] {
        if !folder.join(page).is_file() {
            report.add(page, "missing from the built book", "check book/book.toml's [output.html]");
        }
    }
    let pages: Vec<String> = pages.into_iter().filter(|p| folder.join(p).is_file()).collect();
    if let Some(folder) = screenshots {
        if folder.exists() {
            std::fs::remove_dir_all(folder)
                .with_context(|| format!("Failed to remove {}", folder.display()))?;
        }
        std::fs::create_dir_all(folder)
            .with_context(|| format!("Failed to create {}", folder.display()))?;
    }
    let shot = |page: &str, width: u32| -> Option<PathBuf> {
        let folder = screenshots?;
        chapters.iter().any(|c| c == page).then(|| {
            folder.join(format!("{}-{width}.png", page.trim_end_matches(".html").replace('/', "_")))
        })
    };

    let mut diagrams = HashMap::new();
    let mut titles: Vec<(String, Option<String>)> = Vec::new();
    let mut print_titles = Vec::new();
    driver.viewport(WIDE)?;
    for page in &pages {
        counts.pages += 1;
        if !open(&driver, &base, page, &mut report) {
            continue;
        }
        check_code(page, &eval(&driver.tab, CODE_JS)?, &mut report, &mut counts);
        check_diagrams(
            &driver,
            name,
            page,
            &eval(&driver.tab, SVG_IMAGES_JS)?,
            &mut diagrams,
            &mut report,
            &mut counts,
        )?;
        let h1s: Vec<String> = serde_json::from_value(eval(&driver.tab, H1_JS)?)?;
        if page == "print.html" {
            print_titles = h1s;
        } else if chapters.contains(page) {
            titles.push((page.clone(), h1s.into_iter().next()));
        }
        if let Some(file) = shot(page, WIDE.0) {
            driver.screenshot(&file)?;
        }
        events(&driver, &base, page, &mut report)?;
    }
    driver.viewport(NARROW)?;
    for page in &pages {
        if !open(&driver, &base, page, &mut report) {
            continue;
        }
        check_narrow(page, &eval(&driver.tab, NARROW_JS)?, &mut report);
        if let Some(file) = shot(page, NARROW.0) {
            driver.screenshot(&file)?;
        }
        events(&driver, &base, page, &mut report)?;
    }
    driver.viewport(WIDE)?;
    check_search(&driver, &base, terms, &mut report, &mut counts)?;
    if !print_titles.is_empty() {
        counts.print_titles = print_titles.len();
        for (page, title) in &titles {
            match title {
                None => report.add(
                    page,
                    "the chapter has no h1 title",
                    "start it with a `# Title` line",
                ),
                Some(title) if !print_titles.contains(title) => report.add(
                    "print.html",
                    format!("lacks the title of {page}, \"{title}\""),
                    "check SUMMARY.md lists the chapter, and mdBook's print output",
                ),
                Some(_) => {}
            }
        }
    }
    Ok(Outcome { report, counts })
}

// ---------------------------------------------------------------------------------------------------------------
// The fixture: a book with one clean page and one with a problem for every check.

const FIXTURE_TERMS: [&str; 2] = ["plantedword", "absentword"];

fn write_fixture(dir: &Path) -> Result<()> {
    let src = dir.join("src");
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("Failed to remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(&src).with_context(|| format!("Failed to create {}", src.display()))?;
    let wide = "x".repeat(200);
    let files = [
        ("../book.toml", "[book]\ntitle = \"Fixture\"\nsrc = \"src\"\n".to_string()),
        ("SUMMARY.md", "# Summary\n\n- [Good page](good.md)\n- [Bad page](bad.md)\n".to_string()),
        ("good.md", "# Good page\n\nA plantedword here.\n\n```text\nshort line\n```\n\n![big](big.svg)\n".to_string()),
        (
            "bad.md",
            format!(
                "# Bad page\n\n<script>console.error('planted console error'); throw new Error('planted exception');\
                 </script>\n\n![missing](missing.png)\n\n![tiny](tiny.svg)\n\n```text\nfirst {wide}\n```\n\n\
                 <div style=\"width: 700px; border: 1px solid\">planted wide block</div>\n"
            ),
        ),
        (
            "big.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"100\" viewBox=\"0 0 400 100\" \
             font-size=\"16\"><text x=\"10\" y=\"50\">Readable</text></svg>\n"
                .to_string(),
        ),
        (
            // The root's default is large; the text's own style makes it 20 units in a 1600-unit viewBox: 5 px.
            "tiny.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"40\" viewBox=\"0 0 1600 160\" \
             font-size=\"40\"><text x=\"10\" y=\"60\">Big enough</text>\
             <text x=\"10\" y=\"120\" style=\"font-size: 20px\">Too small</text></svg>\n"
                .to_string(),
        ),
    ];
    for (name, text) in files {
        let path = src.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("Failed to write {}", path.display()))?;
    }
    Ok(())
}

/// Every check must find its planted problem in the fixture, and nothing on its clean page.
fn self_test(fixture: &Outcome, report: &mut Report) {
    let planted = [
        ("console errors", "bad.html", "console error: planted console error"),
        ("uncaught exceptions", "bad.html", "uncaught exception: Error: planted exception"),
        ("failed requests", "bad.html", "HTTP 404 Not Found for"),
        ("code block overflow", "bad.html", "code block `first xxx"),
        ("diagram text size", "bad.html", "diagram tiny.svg: its smallest text (\"Too small\""),
        ("the phone width", "bad.html", "(\"planted wide block\") reaches x = "),
        ("search", "index.html", "search finds nothing for \"absentword\""),
    ];
    for (check, page, problem) in planted {
        if !fixture.report.has(page, problem) {
            report.add(
                "fixture",
                format!("self-test: the check of {check} missed the problem planted on {page} ({problem}…)"),
                "the check is blind: fix it before trusting its silence on the book",
            );
        }
    }
    for failure in &fixture.report.failures {
        let clean = failure.pages.iter().any(|p| p == "good.html" || p == "index.html");
        if clean && !failure.problem.contains("absentword") {
            report.add(
                "fixture",
                format!("self-test: a false alarm on the clean page: {}", failure.problem),
                "the check flags what is fine: fix it",
            );
        }
    }
    let c = &fixture.counts;
    if c.chapters != 2
        || c.code_blocks < 2
        || c.diagrams < 2
        || c.searches != 2
        || c.print_titles < 2
    {
        report.add(
            "fixture",
            format!("self-test: measured too little of the fixture: {c:?}"),
            "fix the test",
        );
    }
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
    build_book(&fixture_dir, &fixture_dir.join("book"))?;
    build_book(&root().join("book"), &work.join("book"))?;
    let browser = launch(&chromium, &work.join("profile"))?;

    let fixture = check_book(&browser, "fixture", &fixture_dir.join("book"), &FIXTURE_TERMS, None)?;
    let mut report = Report::default();
    self_test(&fixture, &mut report);

    let screenshots = target.join("book-screenshots");
    let book = check_book(&browser, "book", &work.join("book"), &SEARCH_TERMS, Some(&screenshots))?;
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

    // Straight to stderr, past the test harness's capture: a person looks for these even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "\nbrowser test: read {} pages ({} chapters), {} code blocks, {} diagrams, {} searches in {:.1} s\n\
         browser test: screenshots of every chapter at {} and {} px are in {}",
        c.pages,
        c.chapters,
        c.code_blocks,
        c.diagrams,
        c.searches,
        started.elapsed().as_secs_f64(),
        WIDE.0,
        NARROW.0,
        screenshots.display()
    );
    if !report.failures.is_empty() {
        bail!(
            "{} problems in the book as a browser shows it (page — problem — fix):\n{}\n\nScreenshots: {}",
            report.failures.len(),
            report.lines().join("\n"),
            screenshots.display()
        );
    }
    Ok(())
}
