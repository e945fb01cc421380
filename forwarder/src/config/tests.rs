use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
struct Standalone {
    #[command(flatten)]
    args: StandaloneArgs,
}

#[derive(Debug, Parser)]
struct Produce {
    #[command(flatten)]
    args: ProduceArgs,
}

fn standalone(extra: &[&str]) -> Result<StandaloneConfig, ConfigError> {
    let base = ["fwd", "--endpoint-name", "e", "--feature-names", "a, b"];
    let args = Standalone::try_parse_from(base.iter().chain(["--stream", "s"].iter()).chain(extra))
        .unwrap()
        .args;
    StandaloneConfig::from_args(args)
}

fn produce(extra: &[&str]) -> Result<ProduceConfig, ConfigError> {
    let base = ["produce", "--stream", "s", "--file", "x.csv"];
    let args = Produce::try_parse_from(base.iter().chain(extra))
        .unwrap()
        .args;
    ProduceConfig::from_args(args)
}

fn error(result: Result<impl std::fmt::Debug, ConfigError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn the_standalone_forwarder_must_be_told_its_stream() {
    let base = ["fwd", "--endpoint-name", "e", "--feature-names", "a"];
    let args = Standalone::try_parse_from(base).unwrap().args;
    // (Unless STREAM_NAME is set in this test's environment, which the test command never does.)
    if args.core.stream.is_none() {
        assert_eq!(
            error(StandaloneConfig::from_args(args)),
            "--stream/STREAM_NAME is required: the stream to read"
        );
    }
    assert_eq!(standalone(&[]).unwrap().stream, "s");
}

#[test]
fn the_defaults_are_valid() {
    let config = standalone(&[]).unwrap();
    let s = &config.core.settings;
    assert_eq!(s.feature_names, ["a", "b"]);
    assert_eq!((s.budget.max_rows, s.budget.max_bytes), (1000, 5 << 20));
    assert_eq!((s.concurrency, s.retry.max_attempts), (4, 6));
    assert_eq!(
        (s.trend_context, s.trend_keys),
        (0, DEFAULT_TREND_CONTEXT_KEYS)
    );
    assert_eq!(config.core.invoke_timeout, Duration::from_secs(70));
    assert_eq!(
        config.core.metrics_dimensions,
        [("Endpoint".to_string(), "e".to_string())]
    );
    assert_eq!(config.reader.limit, 1000);
    assert_eq!(config.discovery_interval, Duration::from_secs(10));
    let p = produce(&[]).unwrap();
    assert_eq!(
        (p.plan.batch_size, p.plan.pause),
        (10, Some(Duration::from_secs(1)))
    );
    assert_eq!(produce(&["--rate", "0"]).unwrap().plan.pause, None);
}

#[test]
fn zero_counts_are_refused_by_name() {
    for (flag, name) in [
        ("--max-rows", "--max-rows/MAX_ROWS_PER_REQUEST"),
        ("--max-bytes", "--max-bytes/MAX_BYTES_PER_REQUEST"),
        ("--concurrency", "--concurrency/CONCURRENCY"),
        ("--max-attempts", "--max-attempts/MAX_ATTEMPTS"),
        ("--records-per-read", "--records-per-read/RECORDS_PER_READ"),
    ] {
        assert_eq!(
            error(standalone(&[flag, "0"])),
            format!("{name} must be at least 1")
        );
    }
    assert_eq!(
        error(standalone(&[
            "--trend-context",
            "3",
            "--trend-context-keys",
            "0"
        ])),
        "--trend-context-keys/TREND_CONTEXT_KEYS must be at least 1"
    );
    for flag in ["--batch-size", "--aggregate", "--max-attempts"] {
        assert_eq!(
            error(produce(&[flag, "0"])),
            format!("{flag} must be at least 1")
        );
    }
}

#[test]
fn values_past_the_service_limits_are_refused_not_clamped() {
    assert_eq!(
        error(standalone(&["--max-bytes", "6291457"])),
        "--max-bytes/MAX_BYTES_PER_REQUEST must be at most 6291456, got 6291457"
    );
    assert_eq!(
        error(standalone(&["--records-per-read", "10001"])),
        "--records-per-read/RECORDS_PER_READ must be at most 10000, got 10001"
    );
    assert_eq!(
        error(produce(&["--batch-size", "501"])),
        "--batch-size must be at most 500, got 501"
    );
}

#[test]
fn durations_that_are_not_positive_and_finite_are_refused_instead_of_panicking() {
    for bad in ["0", "-1", "inf", "NaN", "1e300"] {
        let msg = error(standalone(&[&format!("--invoke-timeout-secs={bad}")]));
        assert!(
            msg.starts_with("--invoke-timeout-secs/INVOKE_TIMEOUT_SECS must be above 0"),
            "{msg}"
        );
        let msg = error(standalone(&[&format!("--discovery-interval-secs={bad}")]));
        assert!(
            msg.starts_with("--discovery-interval-secs/DISCOVERY_INTERVAL_SECS must be above 0"),
            "{msg}"
        );
    }
    for bad in ["-1", "inf", "NaN"] {
        assert_eq!(
            error(produce(&[&format!("--rate={bad}")])),
            format!(
                "--rate must be a finite number of at least 0, got {}",
                bad.parse::<f64>().unwrap()
            )
        );
    }
    // 1e-9 calls a second: a pause of 31 years.
    assert!(error(produce(&["--rate", "1e-9"])).starts_with("1 / --rate must be above 0"));
}

#[test]
fn inconsistent_settings_are_refused() {
    assert_eq!(
        error(standalone(&[
            "--base-delay-ms",
            "500",
            "--max-delay-ms",
            "100"
        ])),
        "--base-delay-ms/BASE_DELAY_MS (500) must not exceed --max-delay-ms/MAX_DELAY_MS (100)"
    );
    assert!(
        error(standalone(&["--trend-context", "24", "--max-rows", "24"]))
            .contains("--max-rows above it")
    );
    assert!(standalone(&["--trend-context", "24", "--trend-context-keys", "500"]).is_ok());
    assert_eq!(
        error(standalone(&["--metrics-dimensions", "Stream=s,oops"])),
        "metric dimension \"oops\" is not NAME=VALUE (--metrics-dimensions/METRICS_DIMENSIONS)"
    );
    let base = [
        "fwd",
        "--stream",
        "s",
        "--endpoint-name",
        "e",
        "--feature-names",
        "a,,b",
    ];
    let args = Standalone::try_parse_from(base).unwrap().args;
    assert_eq!(
        error(StandaloneConfig::from_args(args)),
        "--feature-names/FEATURE_NAMES holds an empty name"
    );
}

#[test]
fn metric_dimensions_keep_their_order() {
    let config = standalone(&["--metrics-dimensions", "Stream=s, Env = test"]).unwrap();
    assert_eq!(
        config.core.metrics_dimensions,
        [
            ("Stream".to_string(), "s".to_string()),
            ("Env".to_string(), "test".to_string())
        ]
    );
}

#[test]
fn the_alert_policy_comes_from_its_flags_and_is_checked() {
    let config = standalone(&[]).unwrap();
    assert_eq!(config.core.settings.alert, AlertPolicy::default());
    let config = standalone(&[
        "--alert-min-anomalies",
        "2",
        "--alert-window",
        "10",
        "--alert-cooldown-secs",
        "90.5",
        "--alert-relative-margin",
        "0",
        "--alert-absolute-margin",
        "3",
    ])
    .unwrap();
    let a = &config.core.settings.alert;
    assert_eq!((a.min_anomalies, a.window), (2, 10));
    assert_eq!(a.cooldown, Duration::from_millis(90_500));
    assert_eq!((a.relative_margin, a.absolute_margin), (0.0, 3.0));
    let every = standalone(&["--alert-every-anomaly"]).unwrap();
    assert_eq!(every.core.settings.alert, AlertPolicy::every_anomaly());
    assert_eq!(
        error(standalone(&["--alert-min-anomalies", "6"])),
        "--alert-min-anomalies/ALERT_MIN_ANOMALIES (6) must not exceed --alert-window/ALERT_WINDOW (5)"
    );
    assert_eq!(
        error(standalone(&["--alert-window", "65"])),
        "--alert-window/ALERT_WINDOW must be at most 64, got 65"
    );
    assert!(error(standalone(&["--alert-min-anomalies", "0"])).contains("at least 1"));
    for bad in ["-1", "NaN", "inf"] {
        let flag = format!("--alert-relative-margin={bad}");
        assert!(
            error(standalone(&[&flag])).contains("ALERT_RELATIVE_MARGIN"),
            "{bad}"
        );
    }
    assert!(error(standalone(&["--alert-cooldown-secs", "90000"])).contains("at most 86400"));
}

#[test]
fn explanations_are_off_unless_asked_for_with_a_count_or_all() {
    assert_eq!(standalone(&[]).unwrap().core.explain, None);
    assert_eq!(
        standalone(&["--explain", "3"]).unwrap().core.explain,
        Some(codec::Explain::Top(3))
    );
    assert_eq!(
        standalone(&["--explain", "all"]).unwrap().core.explain,
        Some(codec::Explain::All)
    );
    let base = [
        "fwd",
        "--endpoint-name",
        "e",
        "--feature-names",
        "a",
        "--stream",
        "s",
    ];
    let bad = Standalone::try_parse_from(base.iter().chain(["--explain", "0"].iter())).unwrap_err();
    assert!(bad.to_string().contains("invalid explain \"0\""), "{bad}");
}

#[test]
fn the_target_model_comes_from_the_partition_key_or_a_json_field() {
    let settings = |extra: &[&str]| standalone(extra).unwrap().core.settings.target_model;
    assert_eq!(settings(&[]), None, "one model unless asked");
    assert_eq!(
        settings(&["--target-model-from", "partition-key"]),
        Some(TargetModelFrom::PartitionKey)
    );
    assert_eq!(
        settings(&["--target-model-from", "field:device_id"]),
        Some(TargetModelFrom::Field("device_id".into()))
    );
    for bad in ["field:", "column:x", "key"] {
        let parsed = Standalone::try_parse_from([
            "fwd",
            "--endpoint-name",
            "e",
            "--feature-names",
            "a",
            "--target-model-from",
            bad,
        ]);
        let err = parsed.unwrap_err().to_string();
        assert!(
            err.contains("expected partition-key or field:NAME"),
            "{bad}: {err}"
        );
    }
    // A trend context follows a partition key: the entity must be that key.
    assert!(
        standalone(&[
            "--target-model-from",
            "partition-key",
            "--trend-context",
            "8"
        ])
        .is_ok()
    );
    let err = error(standalone(&[
        "--target-model-from",
        "field:d",
        "--trend-context",
        "8",
    ]));
    assert!(
        err.contains("cannot be combined with --trend-context"),
        "{err}"
    );
}
