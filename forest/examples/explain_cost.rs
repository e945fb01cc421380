//! The cost of an explanation against plain scoring, on one thread: loads a model and a CSV file
//! with a header naming the model's features (other columns ignored), then times scoring every
//! row and scoring-and-explaining every row, back to back, `ROUNDS` times. The times per row are
//! the best of the rounds; the ratio is the median of the rounds' own ratios, so that a drift in
//! the machine's speed between rounds (this is a shared VM) weighs on both sides of each ratio
//! alike. Prints one JSON object. `scripts/explain-quality.sh` runs it.
//!
//!   cargo run --release -p forest --example explain_cost -- MODEL DATA.csv [ROUNDS]

use std::time::Instant;

use forest::Model;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model), Some(data)) = (args.get(1), args.get(2)) else {
        return Err("usage: explain_cost MODEL DATA.csv [ROUNDS]".into());
    };
    let rounds: usize = args.get(3).map_or(Ok(7), |r| r.parse())?;
    let model = Model::load(model.as_ref())?;
    let text = std::fs::read_to_string(data)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty CSV")?.split(',').collect();
    let columns: Vec<usize> = model
        .feature_names()
        .iter()
        .map(|name| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| format!("no column {name:?} in {data}"))
        })
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        for &c in &columns {
            let text = fields
                .get(c)
                .ok_or_else(|| format!("line {}: too few fields", i + 2))?;
            rows.push(if text.is_empty() {
                f64::NAN
            } else {
                text.parse()?
            });
        }
    }
    let n = rows.len() / model.n_features();
    let (mut score, mut explain) = (f64::INFINITY, f64::INFINITY);
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        std::hint::black_box(model.score_slice(&rows)?);
        let s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        std::hint::black_box(model.explain_slice_with_context(&rows, 0)?);
        let e = t.elapsed().as_secs_f64();
        (score, explain) = (score.min(s), explain.min(e));
        ratios.push(e / s);
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let kernel = model
        .kernel()
        .map_or("general".to_string(), |k| format!("{k:?}"));
    println!(
        "{{\"rows\":{n},\"kernel\":\"{kernel}\",\"score_us_per_row\":{},\"explain_us_per_row\":{},\"ratio\":{}}}",
        score / n as f64 * 1e6,
        explain / n as f64 * 1e6,
        ratio
    );
    Ok(())
}
