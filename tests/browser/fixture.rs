//! The fixture: a book with one clean page and one with a problem for every check.

use std::path::Path;

use anyhow::{Context, Result};

use crate::checks::{Outcome, Report};

pub(crate) const FIXTURE_TERMS: [&str; 2] = ["plantedword", "absentword"];

pub(crate) fn write_fixture(dir: &Path) -> Result<()> {
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
pub(crate) fn self_test(fixture: &Outcome, report: &mut Report) {
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
