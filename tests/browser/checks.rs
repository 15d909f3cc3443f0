//! The checks, on one built book.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use headless_chrome::Browser;
use serde_json::{json, Value};

use crate::driver::{eval, first_line, js_string, wait_until, Driver, HINT_REQUEST};
use crate::measure::{CODE_JS, H1_JS, NARROW_JS, OTHER_LANGUAGE_JS, SVG_IMAGES_JS, SVG_TEXT_JS};
use crate::server::serve;
use crate::{MIN_TEXT_PX, NARROW, PAGE_LOAD, SEARCH_WAIT, WIDE};

pub(crate) struct Failure {
    pub(crate) pages: Vec<String>,
    pub(crate) problem: String,
    hint: String,
}

/// Every failure found, the same problem on several pages (a chapter and print.html) listed once.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) failures: Vec<Failure>,
}

impl Report {
    pub(crate) fn add(&mut self, page: &str, problem: impl Into<String>, hint: impl Into<String>) {
        let (problem, hint) = (problem.into(), hint.into());
        if let Some(f) = self.failures.iter_mut().find(|f| f.problem == problem && f.hint == hint) {
            if !f.pages.iter().any(|p| p == page) {
                f.pages.push(page.to_string());
            }
            return;
        }
        self.failures.push(Failure { pages: vec![page.to_string()], problem, hint });
    }

    pub(crate) fn has(&self, page: &str, problem: &str) -> bool {
        self.failures
            .iter()
            .any(|f| f.pages.iter().any(|p| p == page) && f.problem.contains(problem))
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.failures
            .iter()
            .map(|f| format!("- {} — {} — {}", f.pages.join(", "), f.problem, f.hint))
            .collect()
    }
}

#[derive(Default, Debug)]
pub(crate) struct Counts {
    pub(crate) chapters: usize,
    pub(crate) pages: usize,
    pub(crate) code_blocks: usize,
    pub(crate) diagrams: usize,
    pub(crate) diagram_texts: usize,
    pub(crate) searches: usize,
    pub(crate) print_titles: usize,
}

pub(crate) struct Outcome {
    pub(crate) report: Report,
    pub(crate) counts: Counts,
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
pub(crate) fn check_book(
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
        let foreign: Vec<String> = serde_json::from_value(eval(&driver.tab, OTHER_LANGUAGE_JS)?)?;
        for first in foreign {
            report.add(
                page,
                format!("an output in the other language is shown: `{}`", first_line(&first, 60)),
                "book/theme/workshop.css hides `.lang-en` / `.lang-pt-BR` by the page's lang attribute",
            );
        }
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
