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
    out.push_str(
        "<h2>Features over time</h2><p>Red rings: true anomalies (the feature's own label when the \
         labels file has one, else the row label). Orange triangles: rows the model flags.</p>\n",
    );
    for (j, name) in input.table.names.iter().enumerate() {
        let truth = input.labels.column(name).unwrap_or(&input.labels.rows);
        let svg = plots::feature_chart(
            name,
            &input.table.column(j),
            truth,
            &flagged,
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
        assert_eq!(html.matches("<svg").count(), 4);
        assert!(html.contains("<title>t &amp; t</title>"), "{html}");
        assert!(html.contains("data-name=\"b&lt;x&gt;\""));
        assert!(
            !html.contains("src=") && !html.contains("href="),
            "no external resources"
        );
    }
}
