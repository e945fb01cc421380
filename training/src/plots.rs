//! The report's charts, drawn as SVG strings with plotters' SVG backend.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// Width of the wide charts in pixels.
const WIDE: u32 = 960;
/// Longest line drawn per feature: longer series are reduced to the min and max of each bucket,
/// which keeps every spike visible.
const MAX_LINE_POINTS: usize = 4000;

const TRUE_COLOR: RGBColor = RGBColor(214, 39, 40);
const FLAG_COLOR: RGBColor = RGBColor(255, 127, 14);
const LINE_COLOR: RGBColor = RGBColor(31, 119, 180);
const GRID: RGBColor = RGBColor(232, 232, 232);

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Report(e.to_string())
}

fn draw(
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        paint(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 1.0, hi + 1.0)
    } else {
        let pad = (hi - lo) * 0.03;
        (lo - pad, hi + pad)
    }
}

/// `(row, value)` points of the line, reduced to each bucket's min and max beyond [`MAX_LINE_POINTS`].
fn line_points(values: &[f64]) -> Vec<(f64, f64)> {
    if values.len() <= MAX_LINE_POINTS {
        return values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as f64, v))
            .collect();
    }
    let bucket = values.len().div_ceil(MAX_LINE_POINTS / 2);
    let mut points = Vec::with_capacity(MAX_LINE_POINTS);
    for (b, chunk) in values.chunks(bucket).enumerate() {
        let start = b * bucket;
        let (mut lo, mut hi) = (0, 0);
        for (i, v) in chunk.iter().enumerate() {
            if *v < chunk[lo] {
                lo = i;
            }
            if *v > chunk[hi] {
                hi = i;
            }
        }
        for i in if lo <= hi { [lo, hi] } else { [hi, lo] } {
            points.push(((start + i) as f64, chunk[i]));
        }
    }
    points
}

/// `(row, value)` of the marked rows, one per pixel-sized cell: markers drawn on the same spot
/// look the same, and a million-row file would otherwise make the page huge.
fn marker_points(values: &[f64], marks: &[bool], (lo, hi): (f64, f64)) -> Vec<(f64, f64)> {
    let (x_scale, y_scale) = (
        f64::from(WIDE) / values.len().max(1) as f64,
        260.0 / (hi - lo),
    );
    let mut seen = std::collections::HashSet::new();
    marks
        .iter()
        .zip(values)
        .enumerate()
        .filter(|(_, (m, _))| **m)
        .map(|(i, (_, &v))| (i as f64, v))
        .filter(|&(x, v)| seen.insert(((x * x_scale) as i64, ((v - lo) * y_scale) as i64)))
        .collect()
}

/// One feature over time: the values as a line, true anomalies as red rings, rows the model
/// flags as orange triangles. With `times` (one label per row) the x axis shows them instead of
/// row numbers.
pub fn feature_chart(
    name: &str,
    values: &[f64],
    truth: &[bool],
    flagged: &[bool],
    times: Option<&[String]>,
) -> Result<String> {
    let time_label = |x: &f64| match times {
        Some(t) => t
            .get(x.round().max(0.0) as usize)
            .cloned()
            .unwrap_or_default(),
        None => format!("{x}"),
    };
    draw((WIDE, 260), |root| {
        let (lo, hi) = range(values.iter().copied());
        let mut chart = ChartBuilder::on(root)
            .caption(name, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..values.len().max(1) as f64, lo..hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(if times.is_some() { "time" } else { "row" })
            .x_labels(if times.is_some() { 8 } else { 10 })
            .x_label_formatter(&time_label)
            .y_desc("value")
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                line_points(values),
                LINE_COLOR.stroke_width(1),
            ))
            .map_err(plot_err)?;
        let at = |marks: &[bool]| marker_points(values, marks, (lo, hi));
        chart
            .draw_series(
                at(truth)
                    .into_iter()
                    .map(|p| Circle::new(p, 4, TRUE_COLOR.stroke_width(1))),
            )
            .map_err(plot_err)?
            .label("true anomaly")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, TRUE_COLOR.stroke_width(1)));
        chart
            .draw_series(
                at(flagged)
                    .into_iter()
                    .map(|p| TriangleMarker::new(p, 4, FLAG_COLOR.filled())),
            )
            .map_err(plot_err)?
            .label("flagged by the model")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 4, FLAG_COLOR.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)
    })
}

/// Histogram of the scores, normal and anomalous rows stacked apart, with the threshold as a
/// vertical line.
pub fn score_histogram(scores: &[f64], labels: &[bool], threshold: f64) -> Result<String> {
    const BINS: usize = 60;
    let (lo, hi) = range(scores.iter().copied().chain([threshold]));
    let width = (hi - lo) / BINS as f64;
    let mut counts = [[0u32; BINS]; 2];
    for (&s, &l) in scores.iter().zip(labels) {
        let bin = (((s - lo) / width) as usize).min(BINS - 1);
        counts[usize::from(l)][bin] += 1;
    }
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
    draw((WIDE, 320), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Score distribution", ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(lo..hi, 0f64..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("score")
            .y_desc("rows")
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()
            .map_err(plot_err)?;
        for (class, color, label) in [
            (0, LINE_COLOR, "labelled normal"),
            (1, TRUE_COLOR, "labelled anomalous"),
        ] {
            let bars = counts[class]
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(move |(b, &c)| {
                    let x0 = lo + b as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width, c as f64)],
                        color.mix(0.55).filled(),
                    )
                });
            chart
                .draw_series(bars)
                .map_err(plot_err)?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.mix(0.55).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(
                [(threshold, 0.0), (threshold, top)],
                BLACK.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(format!("threshold {threshold:.4}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)
    })
}

/// A colour per feature for the attribution bars (cycled beyond ten features).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One horizontal bar per labelled row, split into each feature's share (the shares of a row
/// sum to 1), with a legend of the features to the right of the bars.
pub fn attribution_bars(rows: &[(String, Vec<f64>)], names: &[String]) -> Result<String> {
    let n = rows.len().max(1);
    let height = (70 + 30 * n).max(60 + 22 * names.len()) as u32;
    // Row i (top first) spans y in [n − 1 − i, n − i); its bar is the middle 70 %.
    let band = |i: usize| (n - 1 - i) as f64;
    draw((WIDE, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Attribution of the top anomalies", ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(150)
            // The bars end at 1; the room to their right holds the legend.
            .build_cartesian_2d(0f64..1.3, 0f64..n as f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("share of the score")
            .x_labels(14)
            .x_label_formatter(&|x: &f64| {
                if *x <= 1.0 + 1e-9 {
                    format!("{x:.1}")
                } else {
                    String::new()
                }
            })
            .disable_y_mesh()
            .y_label_formatter(&|_| String::new())
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()
            .map_err(plot_err)?;
        for (f, name) in names.iter().enumerate() {
            let color = PALETTE[f % PALETTE.len()];
            let segments = rows.iter().enumerate().filter_map(move |(i, (_, shares))| {
                let start: f64 = shares[..f].iter().sum();
                (shares[f] > 0.0).then(|| {
                    Rectangle::new(
                        [(start, band(i) + 0.15), (start + shares[f], band(i) + 0.85)],
                        color.filled(),
                    )
                })
            });
            chart
                .draw_series(segments)
                .map_err(plot_err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)?;
        // Row labels, right-aligned in the label area beside each bar.
        let style = ("sans-serif", 13).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        for (i, (label, _)) in rows.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, band(i) + 0.5));
            root.draw(&Text::new(label.clone(), (x - 6, y), style.clone()))
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// The ROC curve with the chance diagonal.
pub fn roc_chart(scores: &[f64], labels: &[bool], auc: f64) -> Result<String> {
    let points = forest::metrics::roc_curve(scores, labels);
    draw((460, 440), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("ROC curve (AUC {auc:.4})"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .max_light_lines(0)
            .bold_line_style(GRID)
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                BLACK.mix(0.4).stroke_width(1),
            ))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(points, TRUE_COLOR.stroke_width(2)))
            .map_err(plot_err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_keep_their_spikes() {
        let mut values = vec![0.0; 100_000];
        values[77_777] = 500.0;
        values[12_345] = -500.0;
        let pts = line_points(&values);
        assert!(pts.len() <= MAX_LINE_POINTS);
        assert!(pts.contains(&(77_777.0, 500.0)) && pts.contains(&(12_345.0, -500.0)));
    }

    #[test]
    fn markers_on_the_same_pixel_are_drawn_once() {
        let values: Vec<f64> = (0..100_000).map(|i| (i % 2) as f64).collect();
        let all = vec![true; values.len()];
        let points = marker_points(&values, &all, (0.0, 1.0));
        // 960 columns x 2 distinct heights.
        assert_eq!(points.len(), 2 * 960);
        let few = marker_points(&[0.0, 1.0, 0.5], &[true, false, true], (0.0, 1.0));
        assert_eq!(few, [(0.0, 0.0), (2.0, 0.5)]);
    }

    #[test]
    fn charts_are_svg_with_their_markers() {
        let svg = feature_chart(
            "f<1>",
            &[1.0, 5.0, 2.0],
            &[false, true, false],
            &[false, true, true],
            None,
        )
        .unwrap();
        let times = ["09:00".to_owned(), "09:01".to_owned(), "09:02".to_owned()];
        let timed = feature_chart(
            "f",
            &[1.0, 5.0, 2.0],
            &[false; 3],
            &[false; 3],
            Some(&times),
        )
        .unwrap();
        assert!(
            timed.contains("09:01") && timed.contains(">\ntime\n<"),
            "{timed}"
        );
        assert!(
            svg.starts_with("<svg") && svg.contains("<circle"),
            "{}",
            &svg[..200]
        );
        assert!(svg.contains("<polygon") || svg.contains("<path"));
        let hist = score_histogram(&[0.2, 0.3, 0.8], &[false, false, true], 0.5).unwrap();
        assert!(hist.contains("<rect"));
        assert!(
            roc_chart(&[0.2, 0.3, 0.8], &[false, false, true], 1.0)
                .unwrap()
                .contains("<polyline")
        );
    }
}
