use super::*;

fn preds() -> Vec<Prediction> {
    vec![
        Prediction {
            score: 0.71,
            anomaly: true,
        },
        Prediction {
            score: 0.4,
            anomaly: false,
        },
        Prediction {
            score: 1.0,
            anomaly: true,
        },
    ]
}

fn enc(format: OutputFormat, shape: Shape) -> String {
    String::from_utf8(encode(&preds(), format, shape)).unwrap()
}

#[test]
fn native_shapes() {
    assert_eq!(
        enc(OutputFormat::Json, Shape::Native),
        r#"{"predictions":[{"score":0.71,"anomaly":true},{"score":0.4,"anomaly":false},{"score":1.0,"anomaly":true}]}"#
    );
    assert_eq!(
        enc(OutputFormat::JsonLines, Shape::Native),
        "{\"score\":0.71,\"anomaly\":true}\n{\"score\":0.4,\"anomaly\":false}\n{\"score\":1.0,\"anomaly\":true}\n"
    );
    assert_eq!(
        enc(OutputFormat::Csv, Shape::Native),
        "0.71,true\n0.4,false\n1.0,true\n"
    );
}

#[test]
fn rcf_shapes() {
    assert_eq!(
        enc(OutputFormat::Json, Shape::Rcf),
        r#"{"scores":[{"score":0.71},{"score":0.4},{"score":1.0}]}"#
    );
    assert_eq!(
        enc(OutputFormat::JsonLines, Shape::Rcf),
        "{\"score\":0.71}\n{\"score\":0.4}\n{\"score\":1.0}\n"
    );
    assert_eq!(enc(OutputFormat::Csv, Shape::Rcf), "0.71\n0.4\n1.0\n");
}

#[test]
fn sklearn_shapes() {
    assert_eq!(
        enc(OutputFormat::Json, Shape::Sklearn),
        r#"{"predictions":[-1,1,-1]}"#
    );
    assert_eq!(enc(OutputFormat::JsonLines, Shape::Sklearn), "-1\n1\n-1\n");
    assert_eq!(enc(OutputFormat::Csv, Shape::Sklearn), "-1\n1\n-1\n");
}

#[test]
fn empty_prediction_lists() {
    assert_eq!(
        String::from_utf8(encode(&[], OutputFormat::Json, Shape::Native)).unwrap(),
        r#"{"predictions":[]}"#
    );
    assert!(encode(&[], OutputFormat::Csv, Shape::Native).is_empty());
}

#[test]
fn scores_print_shortest_round_trip() {
    let p = [
        Prediction {
            score: 0.1 + 0.2,
            anomaly: false,
        },
        Prediction {
            score: 1e-7,
            anomaly: false,
        },
    ];
    assert_eq!(
        String::from_utf8(encode(&p, OutputFormat::Csv, Shape::Rcf)).unwrap(),
        "0.30000000000000004\n1e-7\n"
    );
    let json = String::from_utf8(encode(&p, OutputFormat::Json, Shape::Rcf)).unwrap();
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back["scores"][0]["score"].as_f64(), Some(0.1 + 0.2));
}

#[test]
fn non_finite_scores_stay_valid_json() {
    let p = [Prediction {
        score: f64::NAN,
        anomaly: false,
    }];
    assert_eq!(
        String::from_utf8(encode(&p, OutputFormat::Json, Shape::Rcf)).unwrap(),
        r#"{"scores":[{"score":null}]}"#
    );
    assert_eq!(
        String::from_utf8(encode(&p, OutputFormat::Csv, Shape::Native)).unwrap(),
        "NaN,false\n"
    );
}

#[test]
fn one_line_per_row_for_line_formats() {
    let many: Vec<Prediction> = (0..1000)
        .map(|i| Prediction {
            score: i as f64 / 1000.0,
            anomaly: i % 7 == 0,
        })
        .collect();
    for format in [OutputFormat::Csv, OutputFormat::JsonLines] {
        for shape in [Shape::Native, Shape::Rcf, Shape::Sklearn] {
            let body = encode(&many, format, shape);
            assert_eq!(body.iter().filter(|&&b| b == b'\n').count(), 1000);
            assert_eq!(body.last(), Some(&b'\n'));
        }
    }
}

#[test]
fn encode_into_appends() {
    let mut buf = b"x".to_vec();
    encode_into(&preds()[..1], OutputFormat::Csv, Shape::Rcf, &mut buf);
    assert_eq!(buf, b"x0.71\n");
}

#[test]
fn prediction_serde_form_matches_a_native_json_line() {
    let p = Prediction {
        score: 0.71,
        anomaly: true,
    };
    let line = encode(&[p], OutputFormat::JsonLines, Shape::Native);
    assert_eq!(serde_json::to_vec(&p).unwrap(), line[..line.len() - 1]);
    assert_eq!(serde_json::from_slice::<Prediction>(&line).unwrap(), p);
}
