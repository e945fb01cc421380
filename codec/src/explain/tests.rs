use super::*;

fn names() -> Vec<String> {
    vec!["temp".into(), "rpm, max".into(), "say \"hi\"".into()]
}

fn sample() -> (Vec<Prediction>, Vec<Attribution>) {
    let predictions = vec![
        Prediction {
            score: 0.75,
            anomaly: true,
        },
        Prediction {
            score: 0.25,
            anomaly: false,
        },
    ];
    let a = |feature, attribution, direction, value, expected| Attribution {
        feature,
        attribution,
        direction,
        value,
        expected,
    };
    let explanations = vec![
        a(1, 0.5, Direction::High, 412.5, Some(80.125)),
        a(0, 0.25, Direction::Low, f64::NAN, Some(1.0)),
        a(2, 1.0, Direction::Low, -3.0, None),
        a(0, 0.0, Direction::High, 2.0, Some(1.0)),
    ];
    (predictions, explanations)
}

#[test]
fn json_and_json_lines_carry_an_explanation_per_prediction() {
    let (p, e) = sample();
    let json = encode_explained(&p, &e, 2, &names(), OutputFormat::Json);
    let first = r#"{"score":0.75,"anomaly":true,"explanation":[{"feature":"rpm, max","attribution":0.5,"direction":"high","value":412.5,"expected":80.125},{"feature":"temp","attribution":0.25,"direction":"low","value":null,"expected":1.0}]}"#;
    let second = r#"{"score":0.25,"anomaly":false,"explanation":[{"feature":"say \"hi\"","attribution":1.0,"direction":"low","value":-3.0,"expected":null},{"feature":"temp","attribution":0.0,"direction":"high","value":2.0,"expected":1.0}]}"#;
    assert_eq!(
        String::from_utf8(json).unwrap(),
        format!(r#"{{"predictions":[{first},{second}]}}"#)
    );
    let lines = encode_explained(&p, &e, 2, &names(), OutputFormat::JsonLines);
    assert_eq!(
        String::from_utf8(lines).unwrap(),
        format!("{first}\n{second}\n")
    );
}

#[test]
fn csv_adds_five_columns_per_explained_feature() {
    let (p, e) = sample();
    let csv = encode_explained(&p, &e, 2, &names(), OutputFormat::Csv);
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "0.75,true,\"rpm, max\",0.5,high,412.5,80.125,temp,0.25,low,NaN,1.0\n\
         0.25,false,\"say \"\"hi\"\"\",1.0,low,-3.0,,temp,0.0,high,2.0,1.0\n"
    );
}

#[test]
fn every_format_reads_back() {
    let (p, e) = sample();
    for format in [
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Csv,
    ] {
        let body = encode_explained(&p, &e, 2, &names(), format);
        let back = decode_explanations(&body, format.content_type()).unwrap();
        assert_eq!(back.len(), 2, "{format:?}");
        assert_eq!(
            back[0][0],
            NamedAttribution {
                feature: "rpm, max".into(),
                attribution: 0.5,
                direction: Direction::High,
                value: Some(412.5),
                expected: Some(80.125),
            }
        );
        assert_eq!(back[0][1].value, None);
        assert_eq!(back[1][0].feature, "say \"hi\"");
        assert_eq!(back[1][0].expected, None);
        // Predictions still read as plain native answers.
        assert_eq!(
            crate::decode_response(&body, format.content_type()).unwrap(),
            p
        );
    }
}

#[test]
fn answers_without_explanations_read_as_empty_and_malformed_ones_are_errors() {
    let plain = crate::encode(&sample().0, OutputFormat::Json, crate::Shape::Native);
    let back = decode_explanations(&plain, "application/json").unwrap();
    assert_eq!(back, vec![Vec::new(), Vec::new()]);
    let e = decode_explanations(b"0.5,true,temp,0.5\n", "text/csv").unwrap_err();
    assert!(e.to_string().contains("groups of 5"), "{e}");
    let e = decode_explanations(
        br#"{"predictions":[{"score":1,"anomaly":true,"explanation":[{"feature":"a","attribution":1,"direction":"up"}]}]}"#,
        "application/json",
    )
    .unwrap_err();
    assert!(e.to_string().contains("neither high nor low"), "{e}");
}

#[test]
fn the_count_is_capped_by_the_feature_count() {
    assert_eq!(Explain::Top(3).count(5), 3);
    assert_eq!(Explain::Top(9).count(5), 5);
    assert_eq!(Explain::All.count(5), 5);
    assert_eq!("all".parse::<Explain>().unwrap().to_string(), "all");
}
