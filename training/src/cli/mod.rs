//! The command line: the argument definitions (clap derive), and one function per subcommand.

mod args;

pub use args::*;

use anyhow::Context;

use crate::attribution::top1_accuracy;
use crate::data::{Columns, read_grouped_table, read_labels, read_table};
use crate::evaluate::evaluate;
use crate::generate::{self, DEFAULT_START, GenerateParams};
use crate::progress::Progress;
use crate::report::{ReportInput, render};
use crate::score::{explain_table, load_model, read_for_model};
use crate::train::Validation;
use crate::{inspect, train};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let progress = Progress::new(cli.quiet);
    match cli.command {
        Command::Generate(a) => run_generate(a, &progress),
        Command::Train(a) => run_train(a, &progress),
        Command::Evaluate(a) => run_evaluate(a, &progress),
        Command::Report(a) => run_report(a, &progress),
        Command::Inspect(a) => run_inspect(a),
        Command::Score(a) => crate::score_csv::run(a, &progress),
        Command::ImportSklearn(a) => crate::import_sklearn::run(a),
        Command::Retune(a) => run_retune(a, &progress),
        Command::Diff(a) => run_diff(a, &progress),
        Command::ShadowCompare(a) => run_shadow_compare(a),
    }
}

fn run_shadow_compare(a: ShadowCompareArgs) -> anyhow::Result<()> {
    let report = crate::capture::compare(&a.production, &a.shadow, a.shape)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if let Some(min) = a.min_agreement {
        report.check_agreement(min)?;
    }
    Ok(())
}

fn run_retune(a: RetuneArgs, progress: &Progress) -> anyhow::Result<()> {
    let retuned = crate::feedback::retune(
        &crate::feedback::RetuneInput {
            model: &a.model,
            feedback: &a.feedback,
            data: &a.data,
            method: a.threshold_method,
            retrain: a.retrain,
            silent_normal: a.unjudged == Unjudged::Normal,
            out: &a.out,
        },
        progress,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&retuned)?);
    } else {
        print!("{}", retuned.to_text());
    }
    Ok(())
}

fn run_diff(a: DiffArgs, progress: &Progress) -> anyhow::Result<()> {
    let diff = crate::feedback::diff(&a.old, &a.new, &a.data, progress)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        print!("{}", diff.to_text());
    }
    Ok(())
}

fn run_generate(a: GenerateArgs, progress: &Progress) -> anyhow::Result<()> {
    let start = match (&a.start, a.timestamp) {
        (Some(text), _) => Some(generate::parse_start(text)?),
        (None, true) => Some(generate::parse_start(DEFAULT_START)?),
        (None, false) => None,
    };
    let params = GenerateParams {
        rows: a.rows,
        features: a.features,
        anomalies: a.anomalies,
        trend: a.trend,
        seed: a.seed,
        start,
    };
    let data = generate::generate(&params)?;
    generate::write_data(&data, &a.out, progress)?;
    generate::write_labels(&data, &a.labels)?;
    let anomalous = (0..data.n_rows()).filter(|&r| data.row_anomaly(r)).count();
    progress.note(format_args!(
        "wrote {} rows x {} features to {} and labels ({anomalous} anomalous rows) to {}",
        a.rows,
        a.features,
        a.out.display(),
        a.labels.display()
    ));
    Ok(())
}

fn run_train(a: TrainArgs, progress: &Progress) -> anyhow::Result<()> {
    let columns = a.columns.clone().map_or(Columns::Features, Columns::Named);
    let table = read_grouped_table(&a.data, &columns, a.group_by.as_deref(), progress)?;
    table.check_finite(&a.data)?;
    if let Some(column) = &a.group_by {
        let out = a.out.clone().unwrap_or_else(|| "entity-models".into());
        let grouping = crate::group::Grouping {
            column,
            min_rows: a.min_rows,
        };
        let manifest = crate::group::fit_per_entity(
            &table,
            grouping,
            &a.params(),
            a.trend_spec()?,
            a.answer_shape,
            &out,
            progress,
        )?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&manifest)?);
        } else {
            print!("{}", manifest.to_text(&out));
        }
        return Ok(());
    }
    let out = a.out.clone().unwrap_or_else(|| "model.isof".into());
    let validation = match (&a.threshold_from, &a.labels) {
        (Some(data), Some(labels)) => {
            let table = read_table(data, &Columns::Named(table.names.clone()), progress)?;
            let labels = read_labels(labels, Some(table.n_rows))?;
            Some((table, labels))
        }
        _ => None,
    };
    let validation = validation.as_ref().map(|(table, labels)| Validation {
        table,
        labels: &labels.rows,
        method: a.threshold_method,
    });
    let trend = a.trend_spec()?;
    let (model, summary) = train::fit(&table, &a.params(), trend, validation.as_ref(), progress)?;
    model
        .with_answer_shape(a.answer_shape)
        .save(&out)
        .with_context(|| format!("cannot write the model to {}", out.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.to_text());
        println!("model written to {}", out.display());
    }
    Ok(())
}

fn run_evaluate(a: EvaluateArgs, progress: &Progress) -> anyhow::Result<()> {
    let model = load_model(&a.model)?;
    let table = read_for_model(&model, &a.data, progress)?;
    let labels = read_labels(&a.labels, Some(table.n_rows))?;
    let explained = explain_table(&model, &table, progress)?;
    let scores: Vec<f64> = explained.iter().map(|e| e.score).collect();
    let mut evaluation = evaluate(&scores, &labels.rows, model.threshold())?;
    evaluation.attribution = top1_accuracy(&model, &explained, &labels);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print!("{}", evaluation.to_text());
    }
    Ok(())
}

fn run_report(a: ReportArgs, progress: &Progress) -> anyhow::Result<()> {
    let model = load_model(&a.model)?;
    let table = read_for_model(&model, &a.data, progress)?;
    let labels = read_labels(&a.labels, Some(table.n_rows))?;
    let explained = explain_table(&model, &table, progress)?;
    let scores: Vec<f64> = explained.iter().map(|e| e.score).collect();
    let mut evaluation = evaluate(&scores, &labels.rows, model.threshold())?;
    evaluation.attribution = top1_accuracy(&model, &explained, &labels);
    let spinner = progress.spinner("drawing charts");
    let html = render(&ReportInput {
        title: &a.title,
        model_facts: inspect::facts(&model),
        table: &table,
        scores: &scores,
        explained: &explained,
        threshold: model.threshold(),
        labels: &labels,
        evaluation: &evaluation,
    })?;
    spinner.finish_and_clear();
    std::fs::write(&a.out, html).with_context(|| format!("cannot write {}", a.out.display()))?;
    progress.note(format_args!("report written to {}", a.out.display()));
    Ok(())
}

fn run_inspect(a: InspectArgs) -> anyhow::Result<()> {
    let model = load_model(&a.model)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&inspect::to_json(&model))?
        );
    } else {
        for (k, v) in inspect::facts(&model) {
            println!("{k:<20} {v}");
        }
    }
    Ok(())
}
