//! One self-contained HTML page (inline CSS, SVG and script; no external resources) with the
//! evaluation figures and the charts.

use std::fmt::Write;

use crate::data::{Labels, Table};
use crate::error::Result;
use crate::evaluate::Evaluation;
use crate::plots;

/// Everything the page shows.
#[derive(Debug)]
pub struct ReportInput<'a> {
    /// Page title.
    pub title: &'a str,
    /// Model facts shown as a key/value table.
    pub model_facts: Vec<(String, String)>,
    /// The scored data (the model's feature columns).
    pub table: &'a Table,
    /// One score per row.
    pub scores: &'a [f64],
    /// One explanation per row (empty: none, every flagged row is marked on every feature).
    pub explained: &'a [forest::Explanation],
    /// The model's threshold.
    pub threshold: f64,
    /// The labels of the rows.
    pub labels: &'a Labels,
    /// Figures of the scores against the labels.
    pub evaluation: &'a Evaluation,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}\
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f3f3f3}td.k{text-align:left}figure{margin:12px 0}svg{display:block}";

/// After the page is laid out, records in `#render-check` how many charts exist and how many have
/// drawn content (a non-empty bounding box), so a headless browser run can verify the rendering.
const CHECK_SCRIPT: &str = r#"(function () {
  var figs = document.querySelectorAll('figure.plot'), drawn = 0, details = [];
  figs.forEach(function (f) {
    var svg = f.querySelector('svg'), box = svg ? svg.getBBox() : null;
    var ok = !!box && box.width > 0 && box.height > 0;
    if (ok) drawn++;
    details.push(f.dataset.plot + ':' + (box ? Math.round(box.width) + 'x' + Math.round(box.height) : 'none') +
      ':circles=' + (svg ? svg.querySelectorAll('circle').length : 0) +
      ':polygons=' + (svg ? svg.querySelectorAll('polygon').length : 0));
  });
  var out = document.getElementById('render-check');
  out.setAttribute('data-plots', figs.length);
  out.setAttribute('data-drawn', drawn);
  out.setAttribute('data-features', document.querySelectorAll('figure[data-plot="feature"]').length);
  out.textContent = 'charts drawn: ' + drawn + ' of ' + figs.length + ' (' + details.join(' ') + ')';
})();"#;

fn figure(kind: &str, name: &str, svg: &str) -> String {
    format!(
        "<figure class=\"plot\" data-plot=\"{kind}\" data-name=\"{}\">{svg}</figure>\n",
        escape(name)
    )
}

fn summary_tables(out: &mut String, input: &ReportInput<'_>) {
    let e = input.evaluation;
    out.push_str("<h2>Model</h2><table>");
    for (k, v) in &input.model_facts {
        let _ = write!(
            out,
            "<tr><td class=\"k\">{}</td><td class=\"k\">{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    let _ = write!(
        out,
        "</table><h2>Detection</h2><p>{} rows, {} labelled anomalous.</p><table id=\"metrics\">\
         <tr><th>precision</th><th>recall</th><th>F1</th><th>ROC-AUC</th><th>PR-AUC</th></tr>\
         <tr><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr></table>",
        e.rows, e.positives, e.precision, e.recall, e.f1, e.roc_auc, e.pr_auc
    );
    let c = &e.confusion;
    let _ = write!(
        out,
        "<table id=\"confusion\"><tr><th></th><th>flagged</th><th>not flagged</th></tr>\
         <tr><th>anomalous</th><td>{}</td><td>{}</td></tr><tr><th>normal</th><td>{}</td><td>{}</td></tr></table>",
        c.true_positives, c.false_negatives, c.false_positives, c.true_negatives
    );
    out.push_str(
        "<table id=\"thresholds\"><tr><th>rule</th><th>threshold</th><th>flagged</th><th>precision</th>\
         <th>recall</th><th>F1</th></tr>",
    );
    for r in &e.thresholds {
        let _ = write!(
            out,
            "<tr><td class=\"k\">{}</td><td>{:.6}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            escape(&r.rule),
            r.threshold,
            r.flagged,
            r.precision,
            r.recall,
            r.f1
        );
    }
    out.push_str("</table>");
}

/// Anomalies shown with their attributions.
const TOP_ANOMALIES: usize = 10;

/// Whether explanation `e` names feature `j`: its top feature, or one with at least a third of
/// the score.
fn names_feature(e: &forest::Explanation, j: usize) -> bool {
    e.features
        .iter()
        .enumerate()
        .any(|(rank, a)| a.feature == j && (rank == 0 || a.attribution >= 1.0 / 3.0))
}

/// The highest-scoring flagged rows: a bar chart of their attributions and a table of their
/// top features with values and expected values.
fn top_anomalies(out: &mut String, input: &ReportInput<'_>) -> Result<()> {
    let mut rows: Vec<usize> = (0..input.explained.len())
        .filter(|&r| input.scores[r] > input.threshold)
        .collect();
    rows.sort_by(|&a, &b| input.scores[b].total_cmp(&input.scores[a]).then(a.cmp(&b)));
    rows.truncate(TOP_ANOMALIES);
    if rows.is_empty() {
        return Ok(());
    }
    out.push_str(
        "<h2>Top anomalies and why</h2><p>Each bar is one flagged row, split into the features' \
         shares of its score.</p>\n",
    );
    let bars: Vec<(String, Vec<f64>)> = rows
        .iter()
        .map(|&r| {
            let mut shares = vec![0.0; input.table.names.len()];
            for a in &input.explained[r].features {
                shares[a.feature] = a.attribution;
            }
            (format!("row {} ({:.3})", r + 1, input.scores[r]), shares)
        })
        .collect();
    out.push_str(&figure(
        "attribution",
        "top anomalies",
        &plots::attribution_bars(&bars, &input.table.names)?,
    ));
    out.push_str(
        "<table id=\"top-anomalies\"><tr><th>row</th><th>score</th><th>feature</th>\
         <th>share</th><th>value</th><th>expected</th></tr>",
    );
    let number = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"));
    for &r in &rows {
        let e = &input.explained[r];
        for (rank, a) in e.features.iter().take(3).enumerate() {
            let (row, score) = if rank == 0 {
                ((r + 1).to_string(), format!("{:.4}", e.score))
            } else {
                (String::new(), String::new())
            };
            let _ = write!(
                out,
                "<tr><td>{row}</td><td>{score}</td><td class=\"k\">{} ({})</td><td>{:.0} %</td>\
                 <td>{}</td><td>{}</td></tr>",
                escape(&input.table.names[a.feature]),
                a.direction.name(),
                a.attribution * 100.0,
                number(Some(a.value).filter(|v| v.is_finite())),
                number(a.expected)
            );
        }
    }
    out.push_str("</table>\n");
    Ok(())
}

/// Renders the page.
pub fn render(input: &ReportInput<'_>) -> Result<String> {
    let flagged: Vec<bool> = input.scores.iter().map(|&s| s > input.threshold).collect();
    let mut out = String::with_capacity(1 << 20);
    let title = escape(input.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1>\n"
    );
    summary_tables(&mut out, input);
    out.push_str("<h2>Scores</h2>\n");
    out.push_str(&figure(
        "histogram",
        "scores",
        &plots::score_histogram(input.scores, &input.labels.rows, input.threshold)?,
    ));
    out.push_str(&figure(
        "roc",
        "roc",
        &plots::roc_chart(input.scores, &input.labels.rows, input.evaluation.roc_auc)?,
    ));
    top_anomalies(&mut out, input)?;
    out.push_str(
        "<h2>Features over time</h2><p>Red rings: true anomalies (the feature's own label when the \
         labels file has one, else the row label). Orange triangles: flagged rows, on the features \
         their explanation names (the top feature, and any other with a third of the score or \
         more). The first chart marks every flagged row on the score itself.</p>\n",
    );
    out.push_str(&figure(
        "strip",
        "flagged rows",
        &plots::feature_chart(
            "score (every flagged row)",
            input.scores,
            &input.labels.rows,
            &flagged,
            input.table.timestamps.as_deref(),
        )?,
    ));
    for (j, name) in input.table.names.iter().enumerate() {
        let truth = input.labels.column(name).unwrap_or(&input.labels.rows);
        let marks: Vec<bool> = flagged
            .iter()
            .enumerate()
            .map(|(r, &f)| f && input.explained.get(r).is_none_or(|e| names_feature(e, j)))
            .collect();
        let svg = plots::feature_chart(
            name,
            &input.table.column(j),
            truth,
            &marks,
            input.table.timestamps.as_deref(),
        )?;
        out.push_str(&figure("feature", name, &svg));
    }
    let _ = write!(
        out,
        "<p id=\"render-check\"></p>\n<script>{CHECK_SCRIPT}</script>\n</body></html>\n"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::evaluate;

    #[test]
    fn page_is_self_contained_with_one_figure_per_feature() {
        let table = Table {
            names: vec!["a".into(), "b<x>".into()],
            values: vec![1.0, 2.0, 1.1, 2.1, 9.0, 2.0, 1.0, 2.2],
            n_rows: 4,
            skipped: vec![],
            timestamps: None,
            groups: None,
        };
        let scores = [0.3, 0.35, 0.9, 0.4];
        let labels = Labels {
            rows: vec![false, false, true, false],
            columns: vec![],
        };
        let evaluation = evaluate(&scores, &labels.rows, 0.5).unwrap();
        let html = render(&ReportInput {
            title: "t & t",
            model_facts: vec![("kind".into(), "isolation_forest".into())],
            table: &table,
            scores: &scores,
            explained: &[],
            threshold: 0.5,
            labels: &labels,
            evaluation: &evaluation,
        })
        .unwrap();
        assert_eq!(
            html.matches("<figure class=\"plot\" data-plot=\"feature\"")
                .count(),
            2
        );
        // Histogram, ROC, the row-level strip and two features (no explanations: no bars).
        assert_eq!(html.matches("<svg").count(), 5);
        assert!(html.contains("<title>t &amp; t</title>"), "{html}");
        assert!(html.contains("data-name=\"b&lt;x&gt;\""));
        assert!(
            !html.contains("src=") && !html.contains("href="),
            "no external resources"
        );
    }
}
