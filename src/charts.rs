//! Bar charts drawn on the server as SVG (`templates/_bar_chart.html` renders a [`BarChart`]):
//! the geometry is worked out here in whole units of a fixed `viewBox`, so the chart scales to
//! any width (a phone included) and needs no script. Colours come from classes in
//! `static/app.css`, never from `style` attributes, which the CSP refuses.

/// The drawing's size in `viewBox` units; the page scales it to its width.
pub const WIDTH: i32 = 560;
pub const HEIGHT: i32 = 200;
const LEFT: i32 = 62;
const RIGHT: i32 = 8;
const TOP: i32 = 10;
const BOTTOM: i32 = 26;
/// At most this many labels under the bars; the others are skipped evenly.
const MAX_X_LABELS: usize = 6;

/// One bar's input: its label on the axis, its value (`None`: nothing to draw) and the words of
/// its tooltip (`<title>`).
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
    pub title: String,
}

/// A bar in `viewBox` units.
pub struct Bar {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    pub title: String,
}

/// A horizontal grid line with its value.
pub struct Tick {
    pub y: i32,
    pub label: String,
}

/// A label under the bars.
pub struct XLabel {
    pub x: i32,
    pub label: String,
}

/// What the template draws.
pub struct BarChart {
    /// The chart's accessible name, e.g. "Deployments per day".
    pub label: String,
    /// A class for the bars' colour (`chart-bar-ok`, `chart-bar-bad`, …).
    pub class: &'static str,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub x_labels: Vec<XLabel>,
}

impl BarChart {
    pub const BASELINE: i32 = HEIGHT - BOTTOM;

    /// The `viewBox` attribute.
    pub fn view_box(&self) -> String {
        format!("0 0 {WIDTH} {HEIGHT}")
    }
    /// Where the plot starts (the y axis) and ends.
    pub fn left(&self) -> i32 {
        LEFT
    }
    pub fn right(&self) -> i32 {
        WIDTH - RIGHT
    }
    pub fn baseline(&self) -> i32 {
        Self::BASELINE
    }
    /// The x axis labels' baseline.
    pub fn label_y(&self) -> i32 {
        HEIGHT - 8
    }

    /// Bars for `points`, scaled to a round maximum; `tick_label` writes an axis value.
    pub fn new(
        label: impl Into<String>,
        class: &'static str,
        points: &[Point],
        tick_label: impl Fn(f64) -> String,
    ) -> BarChart {
        let max = points
            .iter()
            .filter_map(|p| p.value)
            .fold(0.0_f64, f64::max);
        let top = nice_ceiling(max);
        let plot_w = (WIDTH - LEFT - RIGHT) as f64;
        let plot_h = (HEIGHT - TOP - BOTTOM) as f64;
        let n = points.len().max(1);
        let slot = plot_w / n as f64;
        let bar_w = (slot * 0.7).max(1.0);
        let bars = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let v = p.value?;
                // A zero still shows as a hairline, so "none" differs from "no data".
                let h = ((v / top) * plot_h).round().max(1.0) as i32;
                Some(Bar {
                    x: (LEFT as f64 + slot * i as f64 + (slot - bar_w) / 2.0).round() as i32,
                    y: HEIGHT - BOTTOM - h,
                    width: bar_w.round().max(1.0) as i32,
                    height: h,
                    title: p.title.clone(),
                })
            })
            .collect();
        let ticks = [0.0, 0.5, 1.0]
            .iter()
            .map(|f| Tick {
                y: (HEIGHT - BOTTOM) - (plot_h * f).round() as i32,
                label: tick_label(top * f),
            })
            .collect();
        let every = n.div_ceil(MAX_X_LABELS);
        let x_labels = points
            .iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0)
            .map(|(i, p)| XLabel {
                x: (LEFT as f64 + slot * i as f64 + slot / 2.0).round() as i32,
                label: p.label.clone(),
            })
            .collect();
        BarChart {
            label: label.into(),
            class,
            bars,
            ticks,
            x_labels,
        }
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `v` (1 for nothing), so the axis reads round.
pub fn nice_ceiling(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[Option<f64>]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("d{i}"),
                value: *v,
                title: String::new(),
            })
            .collect()
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
    }

    #[test]
    fn bars_stand_on_the_baseline_inside_the_plot() {
        let chart = BarChart::new("x", "c", &points(&[Some(5.0), None, Some(0.0)]), |v| {
            v.to_string()
        });
        assert_eq!(chart.bars.len(), 2, "no bar where there is no value");
        for bar in &chart.bars {
            assert_eq!(bar.y + bar.height, BarChart::BASELINE);
            assert!(bar.x >= LEFT && bar.x + bar.width <= WIDTH - RIGHT);
        }
        assert_eq!(chart.bars[0].y, TOP, "the highest bar reaches the top");
        assert_eq!(chart.ticks.last().unwrap().label, "5");
    }

    #[test]
    fn long_axes_skip_labels() {
        let chart = BarChart::new("x", "c", &points(&[Some(1.0); 53]), |v| v.to_string());
        assert!(chart.x_labels.len() <= MAX_X_LABELS);
    }
}
