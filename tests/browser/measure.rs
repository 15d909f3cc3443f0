//! What the pages are measured with.

/// Every `pre` block: whether it (or its `code`) scrolls sideways, its first line, widest line in columns and how
/// many columns fit in its box.
pub(crate) const CODE_JS: &str = r#"
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
pub(crate) const SVG_IMAGES_JS: &str = r#"
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
pub(crate) const SVG_TEXT_JS: &str = r#"
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
pub(crate) const NARROW_JS: &str = r#"
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

pub(crate) const H1_JS: &str =
    "[...document.querySelectorAll('main h1')].map(h => h.textContent.trim())";

/// Outputs recorded in the other language than the page's (`.lang-en` / `.lang-pt-BR`) that are visible.
pub(crate) const OTHER_LANGUAGE_JS: &str = r#"
(() => {
  const own = 'lang-' + document.documentElement.lang;
  return [...document.querySelectorAll('.lang-en, .lang-pt-BR')]
    .filter(e => !e.classList.contains(own) && e.getClientRects().length > 0)
    .map(e => (e.innerText || '').split('\n')[0]);
})()
"#;
