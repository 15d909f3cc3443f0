//! The program's messages, read from its source as xgettext would: the string literal of every `t!(…)` and
//! `n!(…)` in `lessons/` (tests excepted), with the names `t!` fills in.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, LitStr, Token};

pub struct Message {
    pub id: String,
    /// The placeholders `t!` fills; `None` for `n!`, filled where the constant is used.
    pub names: Option<Vec<String>>,
    pub place: String,
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sources(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    Ok(())
}

fn literal_and_names(input: ParseStream) -> syn::Result<(LitStr, Vec<String>)> {
    let id: LitStr = input.parse()?;
    let mut names = Vec::new();
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        names.push(input.parse::<Ident>()?.to_string());
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            input.parse::<Expr>()?;
        }
    }
    Ok((id, names))
}

fn walk(tokens: TokenStream, file: &str, found: &mut Vec<Message>, broken: &mut Vec<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        let ident = |k: usize| match tokens.get(k) {
            Some(TokenTree::Ident(ident)) => Some(ident.to_string()),
            _ => None,
        };
        let bang = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
        let skipped = matches!(
            (ident(i).as_deref(), ident(i + 1).as_deref(), ident(i + 2).as_deref()),
            (Some("mod"), Some("tests"), _) | (Some("macro_rules"), _, Some("t" | "n"))
        );
        match (&tokens[i], tokens.get(i + 2)) {
            (TokenTree::Ident(name), Some(TokenTree::Group(group)))
                if bang && (name == "t" || name == "n") =>
            {
                let line = name.span().start().line;
                match literal_and_names.parse2(group.stream()) {
                    Ok((id, names)) => found.push(Message {
                        id: id.value(),
                        names: (name == "t").then_some(names),
                        place: format!("{file}:{line}"),
                    }),
                    Err(err) => broken.push(format!("{file}:{line}: {name}!(…) {err}")),
                }
                // A message's values may hold messages of their own.
                walk(group.stream(), file, found, broken);
                i += 3;
                continue;
            }
            (TokenTree::Group(group), _) => {
                walk(group.stream(), file, found, broken);
            }
            _ if skipped => {
                // `mod tests { … }` and the definitions of `t!` and `n!`: jump over their body.
                while i < tokens.len() && !matches!(&tokens[i], TokenTree::Group(_)) {
                    if matches!(&tokens[i], TokenTree::Punct(p) if p.as_char() == ';') {
                        break;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Every message of the program, in source order.
pub fn messages(root: &Path) -> Result<Vec<Message>> {
    let mut files = Vec::new();
    sources(&root.join("lessons"), &mut files)?;
    files.sort();
    let (mut found, mut broken) = (Vec::new(), Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let file = path.strip_prefix(root).unwrap_or(&path).display().to_string();
        let tokens: TokenStream =
            text.parse().map_err(|e| anyhow::anyhow!("{e}")).with_context(|| file.clone())?;
        walk(tokens, &file, &mut found, &mut broken);
    }
    anyhow::ensure!(
        broken.is_empty(),
        "t!(…) and n!(…) take one string literal (then, for t!, name = value pairs):\n{}",
        broken.join("\n")
    );
    Ok(found)
}

/// `{name}` placeholders in a message, sorted, each once.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn quoted(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"").replace('\t', "\\t");
    let lines: Vec<&str> = escaped.split_inclusive('\n').collect();
    if lines.len() <= 1 {
        return format!("\"{}\"", escaped.replace('\n', "\\n"));
    }
    let mut out = String::from("\"\"");
    for line in lines {
        out += &format!("\n\"{}\"", line.replace('\n', "\\n"));
    }
    out
}

/// The messages as a PO template, for `msgmerge`: one entry per message, its places as references.
pub fn template(messages: &[Message]) -> String {
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for m in messages {
        match entries.iter_mut().find(|(id, _)| *id == m.id) {
            Some((_, places)) => places.push(m.place.clone()),
            None => entries.push((m.id.clone(), vec![m.place.clone()])),
        }
    }
    let mut pot = String::from(
        "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\"Content-Transfer-Encoding: 8bit\\n\"\n",
    );
    for (id, places) in entries {
        pot += &format!("\n#: {}\nmsgid {}\nmsgstr \"\"\n", places.join(" "), quoted(&id));
    }
    pot
}
