//! The reference compose file: what `lesson 1 --run` writes, what `lesson doctor` reads images from.

/// The same file as the repository's compose/docker-compose.yml.
pub const REFERENCE: &str = include_str!("../../compose/docker-compose.yml");

/// The reference file with every `${NAME:-default}` filled in from the environment, as compose would.
pub fn with_defaults() -> String {
    interpolate_defaults(REFERENCE, |name| std::env::var(name).ok())
}

/// The reference file as it reads with no variable set.
pub fn as_published() -> String {
    interpolate_defaults(REFERENCE, |_| None)
}

/// `${NAME:-default}` → the variable's value, else its default (enough for the reference file's images).
fn interpolate_defaults(text: &str, var: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        out.push_str(&var(name).unwrap_or_else(|| default.to_string()));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_variables_and_defaults() {
        let var = |name: &str| (name == "SET").then(|| "value".to_string());
        assert_eq!(interpolate_defaults("a ${SET:-x} b ${UNSET:-y} ${UNSET}", var), "a value b y ");
        assert_eq!(interpolate_defaults("no variables", var), "no variables");
        assert_eq!(interpolate_defaults("kept ${OPEN", var), "kept ${OPEN");
    }

    #[test]
    fn the_reference_names_both_images() {
        let services = crate::stack::compose_file::parse_rendered(&as_published());
        let images: Vec<String> = services.map(|s| s.values().map(|s| s.image.clone()).collect()).unwrap_or_default();
        assert_eq!(images, ["confluentinc/cp-kafka:7.9.5", "confluentinc/cp-zookeeper:7.9.5"]);
    }
}
