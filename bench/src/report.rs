//! The Markdown table: each figure, its reference, the ratio between them and the target.

use std::fmt::Write;

/// How a figure is judged against its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// No target; shown for context.
    None,
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
    /// value / reference must be at least this.
    RatioAtLeast(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Miss,
    NoTarget,
    NotMeasured,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Miss => "**miss**",
            Verdict::NoTarget => "",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One row. `value` and `reference` are in the row's `unit`.
#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub value: Option<f64>,
    pub unit: &'static str,
    pub reference: Option<(String, f64)>,
    /// Unit of the reference when it differs from the value's (e.g. req/s against msg/s).
    pub reference_unit: Option<&'static str>,
    pub target: Target,
    pub target_text: String,
    /// Extra words shown with the value (e.g. why it was not measured).
    pub note: String,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: Option<f64>, unit: &'static str) -> Self {
        Self {
            figure: figure.into(),
            value,
            unit,
            reference: None,
            reference_unit: None,
            target: Target::None,
            target_text: String::new(),
            note: String::new(),
        }
    }

    pub fn compared_to(mut self, label: impl Into<String>, reference: Option<f64>) -> Self {
        if let Some(reference) = reference {
            self.reference = Some((label.into(), reference));
        }
        self
    }

    pub fn compared_to_in(
        mut self,
        label: impl Into<String>,
        reference: Option<f64>,
        unit: &'static str,
    ) -> Self {
        self.reference_unit = Some(unit);
        self.compared_to(label, reference)
    }

    pub fn target(mut self, target: Target, text: impl Into<String>) -> Self {
        self.target = target;
        self.target_text = text.into();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        let value = self.value?;
        let (_, reference) = self.reference.as_ref()?;
        (*reference != 0.0).then(|| value / reference)
    }

    pub fn verdict(&self) -> Verdict {
        let Some(value) = self.value else {
            return Verdict::NotMeasured;
        };
        let passed = match self.target {
            Target::None => return Verdict::NoTarget,
            Target::AtLeast(limit) => value >= limit,
            Target::AtMost(limit) => value <= limit,
            Target::RatioAtLeast(limit) => match self.ratio() {
                Some(ratio) => ratio >= limit,
                None => return Verdict::NotMeasured,
            },
        };
        if passed { Verdict::Pass } else { Verdict::Miss }
    }
}

/// Renders numbers with precision that suits their size.
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        group_thousands(value.round() as i64)
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else if magnitude == 0.0 {
        "0".to_string()
    } else {
        format!("{value:.3}")
    }
}

/// A count with thousands separators.
pub fn format_count(count: u64) -> String {
    group_thousands(i64::try_from(count).unwrap_or(i64::MAX))
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

fn with_unit(value: f64, unit: &str) -> String {
    if unit.is_empty() {
        format_number(value)
    } else {
        format!("{} {unit}", format_number(value))
    }
}

/// The summary table in Markdown.
pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| Figure | Value | Reference | Ratio | Target | Result |\n");
    out.push_str("|---|---:|---|---:|---|---|\n");
    for row in rows {
        let value = match (row.value, row.note.is_empty()) {
            (Some(value), true) => with_unit(value, row.unit),
            (Some(value), false) => format!("{} ({})", with_unit(value, row.unit), row.note),
            (None, _) => format!("— {}", row.note).trim_end().to_string(),
        };
        let reference = row
            .reference
            .as_ref()
            .map(|(label, reference)| {
                let unit = row.reference_unit.unwrap_or(row.unit);
                format!("{label}: {}", with_unit(*reference, unit))
            })
            .unwrap_or_else(|| "—".to_string());
        let ratio = row
            .ratio()
            .map(|ratio| format!("{ratio:.2}×"))
            .unwrap_or_else(|| "—".to_string());
        let target = if row.target_text.is_empty() {
            "—"
        } else {
            &row.target_text
        };
        let _ = writeln!(
            out,
            "| {} | {value} | {reference} | {ratio} | {target} | {} |",
            escape_cell(&row.figure),
            row.verdict().label()
        );
    }
    out
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_targets() {
        let at_most = Row::new("p99", Some(4.0), "ms").target(Target::AtMost(5.0), "≤ 5 ms");
        assert_eq!(at_most.verdict(), Verdict::Pass);
        let at_least =
            Row::new("rate", Some(19_999.0), "msg/s").target(Target::AtLeast(20_000.0), "");
        assert_eq!(at_least.verdict(), Verdict::Miss);
        let ratio = Row::new("send", Some(6000.0), "req/s")
            .compared_to("ping", Some(10_000.0))
            .target(Target::RatioAtLeast(0.5), "≥ 0.5× ping");
        assert_eq!(ratio.ratio(), Some(0.6));
        assert_eq!(ratio.verdict(), Verdict::Pass);
        let no_reference = Row::new("send", Some(1.0), "").target(Target::RatioAtLeast(0.5), "");
        assert_eq!(no_reference.verdict(), Verdict::NotMeasured);
        assert_eq!(Row::new("x", None, "").verdict(), Verdict::NotMeasured);
        assert_eq!(Row::new("x", Some(1.0), "").verdict(), Verdict::NoTarget);
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(format_number(28_123.4), "28,123");
        assert_eq!(format_number(1_234_567.0), "1,234,567");
        assert_eq!(format_number(-4321.0), "-4,321");
        assert_eq!(format_number(512.4), "512");
        assert_eq!(format_number(12.345), "12.3");
        assert_eq!(format_number(1.2345), "1.23");
        assert_eq!(format_number(0.0421), "0.042");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_count(50), "50");
        assert_eq!(format_count(100_000), "100,000");
    }

    #[test]
    fn the_table_has_one_line_per_row() {
        let rows = vec![
            Row::new("SendMessage c=64", Some(15_000.0), "req/s")
                .compared_to("ping c=64", Some(20_000.0))
                .target(Target::RatioAtLeast(0.5), "≥ 0.5× reference"),
            Row::new("Startup", None, "ms").note("server has no SQS"),
            Row::new("Batch", Some(30_000.0), "msg/s").compared_to_in(
                "ping",
                Some(20_000.0),
                "req/s",
            ),
        ];
        let table = render_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[4],
            "| Batch | 30,000 msg/s | ping: 20,000 req/s | 1.50× | — |  |"
        );
        assert_eq!(
            lines[2],
            "| SendMessage c=64 | 15,000 req/s | ping c=64: 20,000 req/s | 0.75× | ≥ 0.5× reference | pass |"
        );
        assert_eq!(
            lines[3],
            "| Startup | — server has no SQS | — | — | — | not measured |"
        );
    }
}
