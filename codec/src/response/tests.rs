use super::*;
use crate::encode::encode;

fn preds() -> Vec<Prediction> {
    vec![
        Prediction {
            score: 0.71,
            anomaly: true,
        },
        Prediction {
            score: 0.123456789,
            anomaly: false,
        },
    ]
}

#[test]
fn native_round_trips_in_every_format() {
    for format in [
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Csv,
    ] {
        let body = encode(&preds(), format, Shape::Native);
        assert_eq!(
            decode_response(&body, format.content_type()).unwrap(),
            preds(),
            "{format}"
        );
    }
}

#[test]
fn rcf_and_sklearn_answers() {
    for format in [
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Csv,
    ] {
        let body = encode(&preds(), format, Shape::Rcf);
        let scores: Vec<_> = decode_answers(&body, format.content_type(), Shape::Rcf).unwrap();
        assert_eq!(
            scores,
            vec![
                Answer {
                    score: Some(0.71),
                    anomaly: None
                },
                Answer {
                    score: Some(0.123456789),
                    anomaly: None
                }
            ]
        );
        let body = encode(&preds(), format, Shape::Sklearn);
        let labels = decode_answers(&body, format.content_type(), Shape::Sklearn).unwrap();
        assert_eq!(
            labels,
            vec![
                Answer {
                    score: None,
                    anomaly: Some(true)
                },
                Answer {
                    score: None,
                    anomaly: Some(false)
                }
            ]
        );
    }
}

#[test]
fn content_type_parameters_are_accepted() {
    let body = br#"{"predictions":[{"score":0.5,"anomaly":false}]}"#;
    let got = decode_response(body, "application/json; charset=utf-8").unwrap();
    assert_eq!(
        got,
        vec![Prediction {
            score: 0.5,
            anomaly: false
        }]
    );
}

#[test]
fn malformed_answers_are_errors() {
    let cases: &[(&[u8], &str, &str)] = &[
        (
            b"{\"scores\":[]}",
            "application/json",
            "invalid response: no \"predictions\" array",
        ),
        (
            b"{\"predictions\":[{\"score\":0.5}]}",
            "application/json",
            "invalid response: item 1: no boolean \"anomaly\"",
        ),
        (
            b"0.5,maybe\n",
            "text/csv",
            "invalid response: line 1: \"maybe\" is not true or false",
        ),
        (
            b"0.5\n",
            "text/csv",
            "invalid response: line 1: expected score,anomaly",
        ),
        (
            b"{\"score\":0.5,\"anomaly\":true}\nnope\n",
            "application/jsonlines",
            "invalid response: line 2: not JSON (expected ident at line 1 column 2)",
        ),
    ];
    for (body, ct, want) in cases {
        assert_eq!(decode_response(body, ct).unwrap_err().to_string(), *want);
    }
    let err = decode_response(b"x", "text/html").unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::UnsupportedMediaType);
}
