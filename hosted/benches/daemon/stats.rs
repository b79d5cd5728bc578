//! Medians, percentiles, ratios and the `metric=value` lines.

use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn median_of(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 0.5)
}

/// The median of one figure over several runs.
pub fn median_by<T>(runs: &[T], f: impl Fn(&T) -> f64) -> f64 {
    median_of(&mut runs.iter().map(f).collect::<Vec<_>>())
}

/// Samples of a repeated operation, in µs.
pub fn p50_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

/// ours / Dinit; `None` without a reference figure or when it is 0.
pub fn ratio(ours: f64, dinit: Option<f64>) -> Option<f64> {
    dinit.filter(|&d| d > 0.0).map(|d| ours / d)
}

/// A figure of the reference for a table cell: "-" when there is none.
pub fn cell(v: Option<f64>, width: usize, decimals: usize) -> String {
    match v {
        Some(v) => format!("{v:>width$.decimals$}"),
        None => format!("{:>width$}", "-"),
    }
}

/// Results, in insertion order, printed as `metric=value` at the end.
#[derive(Default)]
pub struct Metrics {
    lines: Vec<(String, f64)>,
}

impl Metrics {
    /// A figure of ours alone (or of the machine).
    pub fn put(&mut self, name: impl Into<String>, v: f64) {
        self.lines.push((name.into(), v));
    }

    /// A figure of both implementations: `NAME` (ours), `dinit_NAME` and `ratio_NAME`
    /// (ours / Dinit, the unit suffix dropped), the latter two when there is a reference.
    pub fn pair(&mut self, name: &str, ours: f64, dinit: Option<f64>) {
        self.put(name, ours);
        if let Some(d) = dinit {
            self.put(format!("dinit_{name}"), d);
        }
        if let Some(r) = ratio(ours, dinit) {
            let bare = ["_ms", "_us", "_kb"]
                .iter()
                .find_map(|unit| name.strip_suffix(unit))
                .unwrap_or(name);
            self.put(format!("ratio_{bare}"), r);
        }
    }

    pub fn print(&self) {
        for (k, v) in &self.lines {
            if v.fract() == 0.0 {
                println!("{k}={v:.0}");
            } else {
                println!("{k}={v:.3}");
            }
        }
    }
}
