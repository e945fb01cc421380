use super::*;
use crate::error::ErrorKind;

#[test]
fn content_types_match_on_media_type_with_parameters() {
    let cases = [
        ("text/csv", InputFormat::Csv),
        ("text/CSV; label_size=0", InputFormat::Csv),
        ("text/csv; charset=utf-8; header=present", InputFormat::Csv),
        ("application/json", InputFormat::Json),
        ("Application/JSON; charset=UTF-8", InputFormat::Json),
        ("application/vnd.sensor+json", InputFormat::Json),
        ("application/jsonlines", InputFormat::JsonLines),
        ("application/jsonl", InputFormat::JsonLines),
        ("application/x-jsonlines", InputFormat::JsonLines),
        ("application/x-ndjson", InputFormat::JsonLines),
        ("application/x-npy", InputFormat::Npy),
    ];
    for (header, format) in cases {
        assert_eq!(
            InputFormat::from_content_type(Some(header)),
            Ok(format),
            "{header}"
        );
    }
}

#[test]
fn missing_content_type_defaults_to_json() {
    assert_eq!(InputFormat::from_content_type(None), Ok(InputFormat::Json));
    assert_eq!(
        InputFormat::from_content_type(Some("")),
        Ok(InputFormat::Json)
    );
    assert_eq!(
        InputFormat::from_content_type(Some("  ")),
        Ok(InputFormat::Json)
    );
    assert_eq!(InputFormat::DEFAULT, InputFormat::Json);
}

#[test]
fn unsupported_content_type_lists_supported_types() {
    for header in [
        "text/plain",
        "application/x-recordio-protobuf",
        "garbage",
        "text/",
    ] {
        let err = InputFormat::from_content_type(Some(header)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedMediaType);
        assert_eq!(
            err.to_string(),
            format!(
                "unsupported Content-Type \"{header}\"; supported: text/csv, application/json, \
                 application/jsonlines, application/x-npy"
            )
        );
    }
}

fn pick(accept: Option<&str>, default: OutputFormat) -> Result<OutputFormat, DecodeError> {
    OutputFormat::negotiate(accept, default)
}

#[test]
fn missing_empty_or_any_accept_gives_the_default() {
    for default in [
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Csv,
    ] {
        assert_eq!(pick(None, default), Ok(default));
        assert_eq!(pick(Some(""), default), Ok(default));
        assert_eq!(pick(Some("*/*"), default), Ok(default));
        assert_eq!(pick(Some("*/*; q=0.8"), default), Ok(default));
    }
}

#[test]
fn explicit_types_and_aliases() {
    let j = OutputFormat::Json;
    assert_eq!(pick(Some("text/csv"), j), Ok(OutputFormat::Csv));
    assert_eq!(
        pick(Some("application/jsonlines"), j),
        Ok(OutputFormat::JsonLines)
    );
    assert_eq!(
        pick(Some("application/jsonl"), j),
        Ok(OutputFormat::JsonLines)
    );
    assert_eq!(
        pick(Some("application/json; charset=utf-8"), OutputFormat::Csv),
        Ok(OutputFormat::Json)
    );
    assert_eq!(pick(Some("TEXT/CSV"), j), Ok(OutputFormat::Csv));
}

#[test]
fn q_values_and_order_decide() {
    let j = OutputFormat::Json;
    assert_eq!(
        pick(Some("application/json;q=0.5, text/csv"), j),
        Ok(OutputFormat::Csv)
    );
    assert_eq!(
        pick(Some("text/csv, application/json"), j),
        Ok(OutputFormat::Csv)
    );
    assert_eq!(
        pick(Some("application/json, text/csv"), OutputFormat::Csv),
        Ok(OutputFormat::Json)
    );
    assert_eq!(
        pick(Some("image/png, text/csv;q=0.1"), j),
        Ok(OutputFormat::Csv)
    );
    // An explicit type beats a wildcard of equal q.
    assert_eq!(pick(Some("*/*, text/csv"), j), Ok(OutputFormat::Csv));
    // q=0 excludes a type even if a wildcard would admit it.
    assert_eq!(
        pick(Some("application/json;q=0, */*"), j),
        Ok(OutputFormat::JsonLines)
    );
}

#[test]
fn type_wildcards() {
    assert_eq!(
        pick(Some("text/*"), OutputFormat::Json),
        Ok(OutputFormat::Csv)
    );
    assert_eq!(
        pick(Some("application/*"), OutputFormat::Csv),
        Ok(OutputFormat::Json)
    );
    assert_eq!(
        pick(Some("application/*"), OutputFormat::JsonLines),
        Ok(OutputFormat::JsonLines)
    );
}

#[test]
fn unsupported_accept_lists_supported_types() {
    for header in ["image/png", "application/x-npy", "text/csv;q=0", "nonsense"] {
        let err = pick(Some(header), OutputFormat::Json).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAcceptable);
        assert_eq!(
            err.to_string(),
            format!(
                "cannot produce any type acceptable to Accept \"{header}\"; supported: application/json, \
                 application/jsonlines, text/csv"
            )
        );
    }
}

#[test]
fn default_accept_parses_from_configuration() {
    assert_eq!("application/json".parse(), Ok(OutputFormat::Json));
    assert_eq!("text/csv".parse(), Ok(OutputFormat::Csv));
    assert_eq!("application/jsonlines".parse(), Ok(OutputFormat::JsonLines));
    assert!("*/*".parse::<OutputFormat>().is_err());
    assert_eq!(OutputFormat::Csv.content_type(), "text/csv");
    assert_eq!(InputFormat::Npy.to_string(), "application/x-npy");
}
