//! Every decoder runs in time linear in its input, on the inputs an attacker would pick.
//!
//! Each case builds one adversarial input family at two sizes, 16× apart (64 KiB and 1 MiB, both
//! within a core's L2 cache on the machines this runs on, so cache misses do not pass for
//! growth), decodes each several times, alternating, and compares the best time per byte: a
//! linear decoder keeps it flat (a machine busy with other work moved it by up to 4.5× in our
//! runs), a quadratic one multiplies it by about 16. The limit, 6×, fails the second and not
//! the first. Errors are expected for most inputs: what is measured is the time to reach the
//! answer, whatever it is. Model files and scikit-learn exports (read by `forest`) are timed here
//! too, so that every decoder a client or an artifact can feed is in one place.

use std::time::{Duration, Instant};

use codec::{InputFormat, Limits, OutputFormat};

const SMALL: usize = 64 * 1024;
const GROWTH: usize = 16;
const LIMIT: f64 = 6.0;

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("feature_{i}")).collect()
}

/// The tests in this file measure time, so they take turns (the harness runs tests in parallel).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The best time of `decode` on each input, per byte, from runs that alternate between the two
/// inputs so that a busy machine slows both alike.
fn per_byte(small: &[u8], big: &[u8], decode: &dyn Fn(&[u8])) -> (f64, f64) {
    let time = |input: &[u8]| {
        let t = Instant::now();
        decode(input);
        t.elapsed()
    };
    let (mut a, mut b) = (Duration::MAX, Duration::MAX);
    let started = Instant::now();
    for pair in 0.. {
        a = a.min(time(small));
        b = b.min(time(big));
        if pair >= 6 && started.elapsed() > Duration::from_millis(400) {
            break;
        }
    }
    // A floor of one microsecond keeps an input refused at its first byte from dividing by ~0.
    let per = |d: Duration, len: usize| d.max(Duration::from_micros(1)).as_secs_f64() / len as f64;
    (per(a, small.len()), per(b, big.len()))
}

/// Asserts that `decode` costs no more per byte on a larger input from `make`.
fn linear(case: &str, make: impl Fn(usize) -> Vec<u8>, decode: impl Fn(&[u8])) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let small = make(SMALL);
    let big = make(SMALL * GROWTH);
    assert!(
        big.len() >= small.len() * (GROWTH / 2),
        "{case}: the input did not grow"
    );
    let (a, b) = per_byte(&small, &big, &decode);
    let ratio = b / a;
    eprintln!(
        "{case:<40} {:>7.2} ns/B at {:>7} B, {:>7.2} ns/B at {:>7} B, ratio {ratio:.2}",
        a * 1e9,
        small.len(),
        b * 1e9,
        big.len()
    );
    assert!(
        ratio < LIMIT,
        "{case}: {:.2} ns/byte at {} bytes but {:.2} ns/byte at {} bytes",
        a * 1e9,
        small.len(),
        b * 1e9,
        big.len()
    );
}

/// `unit` repeated to about `len` bytes, between `open` and `close`.
fn repeat(open: &str, unit: &str, close: &str, len: usize) -> Vec<u8> {
    let mut out = open.as_bytes().to_vec();
    while out.len() + unit.len() + close.len() <= len {
        out.extend_from_slice(unit.as_bytes());
    }
    out.extend_from_slice(close.as_bytes());
    out
}

fn body_decoder(format: InputFormat, width: usize) -> impl Fn(&[u8]) {
    let names = names(width);
    move |body: &[u8]| {
        let _ = codec::decode(format, body, &names, &Limits::default());
    }
}

#[test]
fn csv_is_linear_on_hostile_bodies() {
    let csv = || body_decoder(InputFormat::Csv, 5);
    linear("csv: empty lines", |n| vec![b'\n'; n], csv());
    linear("csv: one row of commas", |n| vec![b','; n], csv());
    linear("csv: CRLF lines", |n| repeat("", "\r\n", "", n), csv());
    linear(
        "csv: one very long number",
        |n| repeat("1.", "1", ",2,3,4,5\n", n),
        csv(),
    );
    linear(
        "csv: long quoted field",
        |n| repeat("\"", "a", "\",1,2,3,4\n", n),
        csv(),
    );
    linear(
        "csv: quotes doubled",
        |n| repeat("\"", "\"\"", "\"\n", n),
        csv(),
    );
    linear(
        "csv: header of many columns",
        |n| repeat("", "feature_1,", "\n1\n", n),
        csv(),
    );
    linear(
        "csv: rows that fail at the end",
        |n| repeat("", "1,2,3,4,5\n", "1,2,3,4,x\n", n),
        csv(),
    );
    linear(
        "csv: valid rows",
        |n| repeat("", "20.5,1.25,0.5,7,8\n", "", n),
        csv(),
    );
    let wide = body_decoder(InputFormat::Csv, 2_000);
    linear(
        "csv: rows of a 2000-wide model",
        |n| repeat("", &"1,".repeat(1_999), "1\n", n),
        wide,
    );
}

#[test]
fn training_tables_are_linear() {
    use codec::table::{Columns, read_table};
    let table = |b: &[u8]| {
        let _ = read_table(b, &Columns::Features, |_| {});
    };
    linear(
        "table: blank lines of every kind",
        |n| repeat("a,b\n1,2\n", "\n\r\n  \r\n", "3,4\n", n),
        table,
    );
    linear(
        "table: one long quoted field",
        |n| repeat("a,name\n1,\"", "x\"\"y,", "\"\n", n),
        table,
    );
    linear(
        "table: header of many columns",
        |n| repeat("", "feature,", "x\n1\n", n),
        table,
    );
    linear(
        "table: rows that fail at the end",
        |n| repeat("a,b,c,d,e\n", "1,2,3,4,5\n", "1,2,3,4,x\n", n),
        table,
    );
}

#[test]
fn json_is_linear_on_hostile_bodies() {
    let json = || body_decoder(InputFormat::Json, 5);
    linear("json: deep nesting", |n| repeat("", "[", "", n), json());
    linear(
        "json: deep objects",
        |n| repeat("", "{\"a\":", "", n),
        json(),
    );
    linear(
        "json: one very long number",
        |n| repeat("[[1", "1", "]]", n),
        json(),
    );
    linear(
        "json: long fraction",
        |n| repeat("[[0.", "1", "]]", n),
        json(),
    );
    linear(
        "json: very long key",
        |n| repeat("[{\"", "k", "\": 1}]", n),
        json(),
    );
    linear(
        "json: escaped key",
        |n| repeat("[{\"", "\\u0061", "\": 1}]", n),
        json(),
    );
    linear(
        "json: many unknown keys",
        |n| repeat("[{", "\"x\":1,", "\"y\":1}]", n),
        json(),
    );
    linear(
        "json: many repeated keys",
        |n| repeat("[{", "\"feature_1\":1,", "\"feature_1\":1}]", n),
        json(),
    );
    linear(
        "json: long string value",
        |n| repeat("[[\"", "a", "\"]]", n),
        json(),
    );
    linear(
        "json: empty arrays",
        |n| repeat("[", "[],", "[]]", n),
        json(),
    );
    linear(
        "json: whitespace",
        |n| repeat("", " ", "[[1,2,3,4,5]]", n),
        json(),
    );
    linear(
        "json: records",
        |n| {
            repeat(
                "[",
                r#"{"feature_1":1,"feature_2":2,"feature_3":3,"feature_4":4,"feature_5":5},"#,
                "{}]",
                n,
            )
        },
        json(),
    );
    linear(
        "json: instances",
        |n| repeat("{\"instances\":[", "[1,2,3,4,5],", "[1,2,3,4,5]]}", n),
        json(),
    );
    linear(
        "json: bad last record",
        |n| repeat("[", "[1,2,3,4,5],", "[1,2,3,4,\"x\"]]", n),
        json(),
    );
}

#[test]
fn jsonlines_is_linear_on_hostile_bodies() {
    let lines = || body_decoder(InputFormat::JsonLines, 5);
    linear("jsonlines: empty lines", |n| vec![b'\n'; n], lines());
    linear(
        "jsonlines: deep nesting per line",
        |n| repeat("", &format!("{}\n", "[".repeat(200)), "", n),
        lines(),
    );
    linear(
        "jsonlines: valid lines",
        |n| repeat("", "[1,2,3,4,5]\n", "", n),
        lines(),
    );
    linear(
        "jsonlines: bad last line",
        |n| repeat("", "[1,2,3,4,5]\n", "[1,2\n", n),
        lines(),
    );
    linear(
        "jsonlines: one long line",
        |n| repeat("[1", "1", "]\n", n),
        lines(),
    );
}

fn npy(header: &str, data_len: usize) -> Vec<u8> {
    let mut body = b"\x93NUMPY\x02\x00".to_vec();
    body.extend_from_slice(&(header.len() as u32).to_le_bytes());
    body.extend_from_slice(header.as_bytes());
    body.resize(body.len() + data_len, 0);
    body
}

#[test]
fn npy_is_linear_on_hostile_bodies() {
    let decode = || body_decoder(InputFormat::Npy, 5);
    linear(
        "npy: header larger than the limit",
        |n| npy(&format!("{{'descr': '<f8', {}", "[".repeat(n)), 0),
        decode(),
    );
    linear(
        "npy: data of many rows",
        |n| {
            npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 5), }\n",
                n,
            )
        },
        decode(),
    );
    linear(
        "npy: fortran order",
        |n| {
            let rows = n / 40;
            npy(
                &format!("{{'descr': '>f8', 'fortran_order': True, 'shape': ({rows}, 5), }}\n"),
                rows * 40,
            )
        },
        decode(),
    );
}

#[test]
fn request_headers_are_linear() {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    linear(
        "custom attributes: many keys",
        |n| repeat("", "a=b,", "format=rcf", n),
        |b| {
            let _ = codec::CustomAttributes::parse(Some(&text(b)));
        },
    );
    linear(
        "custom attributes: long value",
        |n| repeat("context=", "9", "", n),
        |b| {
            let _ = codec::CustomAttributes::parse(Some(&text(b)));
        },
    );
    linear(
        "accept: many media ranges",
        |n| repeat("", "text/x;q=0.1, ", "*/*", n),
        |b| {
            let _ = OutputFormat::negotiate(Some(&text(b)), OutputFormat::Json);
        },
    );
    linear(
        "accept: many parameters",
        |n| repeat("text/csv", ";a=b", "", n),
        |b| {
            let _ = OutputFormat::negotiate(Some(&text(b)), OutputFormat::Json);
        },
    );
    linear(
        "content type: many parameters",
        |n| repeat("text/csv", ";a=\"b\"", "", n),
        |b| {
            let _ = InputFormat::from_content_type(Some(&text(b)));
        },
    );
}

#[test]
fn stream_records_are_linear() {
    let names = names(5);
    linear(
        "record: many CSV rows",
        |n| repeat("", "1,2,3,4,5\n", "", n),
        |b| {
            let _ = codec::sniff_record(b);
            let _ = codec::decode_record(b, &names);
        },
    );
    linear(
        "record: deep JSON",
        |n| repeat("", "[", "", n),
        |b| {
            let _ = codec::decode_record(b, &names);
        },
    );
    linear(
        "kpl: many user records",
        |n| {
            let payloads = vec![b"1,2,3,4,5".as_slice(); n / 16];
            codec::kpl::aggregate("key", payloads)
        },
        |b| {
            let _ = codec::kpl::deaggregate(b);
        },
    );
    linear(
        "kpl: magic then garbage",
        |n| {
            let mut b = codec::kpl::MAGIC.to_vec();
            b.resize(n, 0xff);
            b
        },
        |b| {
            let _ = codec::kpl::deaggregate(b);
        },
    );
    linear(
        "response: many predictions",
        |n| {
            repeat(
                "{\"predictions\":[",
                "{\"score\":0.5,\"anomaly\":false},",
                "{\"score\":0.5,\"anomaly\":false}]}",
                n,
            )
        },
        |b| {
            let _ = codec::decode_response(b, "application/json");
        },
    );
}

/// A model file of about `len` bytes: a forest of as many small trees as fit.
fn model_file(len: usize) -> Vec<u8> {
    use forest::{DetectorParams, ForestParams, Model};
    let data: Vec<f64> = (0..64 * 2).map(|i| ((i * 7919) % 101) as f64).collect();
    let view = forest::ndarray::ArrayView2::from_shape((64, 2), &data).unwrap();
    let fit = |n_trees| {
        let params = DetectorParams::IsolationForest(ForestParams {
            n_trees,
            max_samples: forest::MaxSamples::Count(16),
            seed: 1,
            ..ForestParams::default()
        });
        Model::fit(view, vec!["a".into(), "b".into()], &params)
            .unwrap()
            .to_bytes()
    };
    let per_tree = fit(2).len() - fit(1).len();
    fit((len / per_tree).max(1))
}

/// A scikit-learn export of about `len` bytes: as many copies of one small tree as fit.
fn sklearn_export(len: usize) -> Vec<u8> {
    let tree = r#"{"children_left": [1, -1, 3, -1, -1], "children_right": [2, -1, 4, -1, -1], "feature": [0, -2, 1, -2, -2], "threshold": [0.1, -2.0, 2.0, -2.0, -2.0], "n_node_samples": [4, 1, 3, 2, 1], "missing_go_to_left": [0, 0, 1, 0, 0]}"#;
    let n = (len / (tree.len() + 2)).max(1);
    format!(
        r#"{{"format": "sklearn-isolation-forest", "version": 1, "sklearn_version": "1.5.0", "n_features_in": 2, "feature_names_in": null, "max_samples": 4, "offset": -0.6, "contamination": "auto", "bootstrap": false, "n_estimators": {n}, "max_features_subsampled": false, "estimators_features": [], "trees": [{}]}}"#,
        vec![tree; n].join(", ")
    )
    .into_bytes()
}

#[test]
fn model_files_and_sklearn_imports_are_linear() {
    linear("model file: many trees", model_file, |b| {
        let _ = forest::Model::from_bytes(b);
    });
    linear(
        "model file: damaged at its end",
        |n| {
            let mut b = model_file(n);
            let last = b.len() - 1;
            b[last] ^= 0xff;
            b
        },
        |b| {
            let _ = forest::Model::from_bytes(b);
        },
    );
    linear("sklearn import: many trees", sklearn_export, |b| {
        let _ = forest::sklearn::import_json(std::str::from_utf8(b).unwrap());
    });
    linear(
        "sklearn import: deep nesting",
        |n| repeat("{\"trees\": ", "[", "", n),
        |b| {
            let _ = forest::sklearn::import_json(std::str::from_utf8(b).unwrap());
        },
    );
}
