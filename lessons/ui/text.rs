//! Fills `{name}` placeholders in the guidance texts.

pub fn fill(template: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut text = template.to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
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
}
