//! Fills `{name}` placeholders in messages, after translating them.

/// A word as a shell reads it back: quoted when it holds anything but plain characters.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:@".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `template` in the chosen language with each `{name}` replaced by its value, in one pass: a value that
/// itself contains `{…}` is left as it is.
pub fn fill(template: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut text = String::new();
    let mut rest = super::lang::tr(template);
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            values.iter().find(|(name, _)| *name == &after[..close]).map(|(_, v)| (close, v))
        });
        match value {
            Some((close, value)) => {
                text.push_str(&value.to_string());
                rest = &after[close + 1..];
            }
            None => {
                text.push('{');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fills_every_placeholder_and_leaves_others() {
        assert_eq!(
            fill("{a} and {b}, {a} again; {c}", &[("a", &1), ("b", &"two")]),
            "1 and two, 1 again; {c}"
        );
    }

    #[test]
    fn a_value_is_never_filled_again() {
        assert_eq!(fill("{a} {b}", &[("a", &"{b}"), ("b", &2)]), "{b} 2");
    }
}
