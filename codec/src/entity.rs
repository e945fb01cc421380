//! Entity names: the values that name one model per entity (a device id), shared by the trainer,
//! which writes `<entity>.isof`, and the forwarder, which asks a multi-model endpoint for
//! `TargetModel=<entity>.tar.gz`. Both must agree on which values can name a model.

/// Longest entity value that names a model (S3 keys allow 1,024 bytes; a prefix and `.tar.gz`
/// must fit beside it).
pub const MAX_ENTITY_BYTES: usize = 200;

/// Why `entity` cannot name a model file, if it cannot: only ASCII letters, digits, `.`, `_` and
/// `-`, not starting with `.`, 1 to [`MAX_ENTITY_BYTES`] bytes (safe as a file name, an S3 key
/// and a `TargetModel` on every platform).
pub fn unusable_name(entity: &str) -> Option<String> {
    if entity.is_empty() {
        return Some("the value is empty".into());
    }
    if entity.len() > MAX_ENTITY_BYTES {
        return Some(format!("the value is longer than {MAX_ENTITY_BYTES} bytes"));
    }
    if entity.starts_with('.') {
        return Some("the value starts with '.'".into());
    }
    if let Some(c) = entity
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "{c:?} cannot be in a model name (letters, digits, '.', '_' and '-' only)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_bounded() {
        for ok in ["pump-7", "7", "a.b_c-D", &"x".repeat(MAX_ENTITY_BYTES)] {
            assert_eq!(unusable_name(ok), None, "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a b",
            "é",
            "..",
            &"x".repeat(MAX_ENTITY_BYTES + 1),
        ] {
            assert!(unusable_name(bad).is_some(), "{bad}");
        }
    }
}
