//! PO files (gettext catalogs), read from the text compiled into the program.

use std::collections::HashMap;

use polib::catalog::Catalog;
use polib::message::Message;
use polib::metadata::CatalogMetadata;

/// One entry of a PO file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub text: String,
    pub fuzzy: bool,
}

fn unquote(line: &str) -> String {
    let line = line.trim();
    let inner = line.strip_prefix('"').and_then(|l| l.strip_suffix('"')).unwrap_or(line);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// Every entry with a msgid (the header has none), in file order.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for block in text.replace("\r\n", "\n").split("\n\n") {
        let (mut entry, mut field) = (Entry::default(), "");
        for line in block.lines() {
            if line.starts_with("#,") && line.contains("fuzzy") {
                entry.fuzzy = true;
            } else if let Some(rest) = line.strip_prefix("msgid ") {
                (field, entry.id) = ("id", unquote(rest));
            } else if let Some(rest) = line.strip_prefix("msgstr ") {
                (field, entry.text) = ("str", unquote(rest));
            } else if line.starts_with('"') {
                match field {
                    "id" => entry.id.push_str(&unquote(line)),
                    "str" => entry.text.push_str(&unquote(line)),
                    _ => {}
                }
            }
        }
        if !entry.id.is_empty() {
            entries.push(entry);
        }
    }
    entries
}

/// msgid → msgstr for every entry translated and not fuzzy.
pub fn translations(text: &str) -> HashMap<String, String> {
    parse(text)
        .into_iter()
        .filter(|e| !e.fuzzy && !e.text.is_empty())
        .map(|e| (e.id, e.text))
        .collect()
}

/// The translated entries as a catalog for mdbook-i18n-helpers.
pub fn catalog(text: &str) -> Catalog {
    let mut catalog = Catalog::new(CatalogMetadata::new());
    for (id, text) in translations(text) {
        catalog.append_or_update(Message::build_singular().with_msgid(id).with_msgstr(text).done());
    }
    catalog
}

/// `md` with each message the Portuguese book translates replaced, exactly as mdbook-gettext does it.
pub fn translate_markdown(md: &str, catalog: &Catalog) -> String {
    let events = mdbook_i18n_helpers::extract_events(md, None);
    mdbook_i18n_helpers::translate_events(&events, catalog)
        .and_then(|translated| mdbook_i18n_helpers::reconstruct_markdown(&translated, None))
        .map(|(text, _)| text)
        .unwrap_or_else(|_| md.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_their_escaped_quotes() {
        let entries = parse("msgid \"\\\"Failed\\\"\"\nmsgstr \"\"\n\"a\\r\\n\"\n");
        assert_eq!(entries[0].id, "\"Failed\"");
        assert_eq!(entries[0].text, "a\r\n");
    }

    #[test]
    fn fuzzy_and_obsolete_entries_translate_nothing() {
        let po = "msgid \"a\"\nmsgstr \"um\"\n\n#, fuzzy\nmsgid \"b\"\nmsgstr \"bê\"\n\n#~ msgid \"c\"\n#~ msgstr \"cê\"\n";
        let translations = translations(po);
        assert_eq!(translations.len(), 1);
        assert_eq!(translations["a"], "um");
    }

    #[test]
    fn markdown_is_translated_by_paragraph() {
        let po = "msgid \"Hello, `world`.\"\nmsgstr \"Olá, `world`.\"\n\nmsgid \"Goal\"\nmsgstr \"Objetivo\"\n";
        let translated =
            translate_markdown("## Goal\n\nHello,\n`world`.\n\nUntranslated.\n", &catalog(po));
        assert_eq!(translated, "## Objetivo\n\nOlá, `world`.\n\nUntranslated.");
    }
}
