//! The browser: what it reports (DevTools events) and how to ask it things.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Log, Network, Page, Runtime};
use headless_chrome::{Browser, Tab};
use serde_json::{json, Value};

use crate::PAGE_LOAD;

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
pub(crate) const HINT_REQUEST: &str =
    "fix the path in the chapter, or add the file it names to book/src";

fn remote_text(object: &Runtime::RemoteObject) -> String {
    match (&object.value, &object.description) {
        (Some(Value::String(s)), _) => s.clone(),
        (Some(value), _) => value.to_string(),
        (None, Some(description)) => description.clone(),
        (None, None) => format!("{:?}", object.Type),
    }
}

pub(crate) fn first_line(text: &str, max: usize) -> String {
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

pub(crate) struct Driver {
    pub(crate) tab: Arc<Tab>,
    /// A second tab that opens the SVG files themselves, to read their text sizes.
    pub(crate) svg_tab: Arc<Tab>,
    seen: Arc<Mutex<Seen>>,
}

impl Driver {
    pub(crate) fn new(browser: &Browser) -> Result<Self> {
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

    pub(crate) fn viewport(&self, (width, height): (u32, u32)) -> Result<()> {
        let metrics =
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
        self.tab.call_method(cdp::<Emulation::SetDeviceMetricsOverride>(metrics)?)?;
        Ok(())
    }

    /// Opens `url` and waits until it has loaded, its fonts are ready and no request is in flight.
    pub(crate) fn load(&self, url: &str) -> Result<()> {
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
    pub(crate) fn problems(&self, url: &str) -> Result<Vec<(String, &'static str)>> {
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

    pub(crate) fn screenshot(&self, file: &Path) -> Result<()> {
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

pub(crate) fn js_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// Runs `expression` in the page (promises awaited) and returns its value as JSON.
pub(crate) fn eval(tab: &Tab, expression: &str) -> Result<Value> {
    let call = json!({"expression": expression, "returnByValue": true, "awaitPromise": true, "silent": true});
    let answer = tab.call_method(cdp::<Runtime::Evaluate>(call)?)?;
    if let Some(details) = answer.exception_details {
        let text = details.exception.and_then(|e| e.description).unwrap_or(details.text);
        bail!("script failed in the page: {}", first_line(&text, 300));
    }
    Ok(answer.result.value.unwrap_or(Value::Null))
}

/// Polls `probe` until it gives a value, for at most `limit`; the error names what it waited for.
pub(crate) fn wait_until<T>(
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
