//! Timeline chart of one evaluated stream (SVG): message rate, combined score, detections (with
//! the span each clip would hold), the reference z-score rule's firings and labels. It draws
//! plain numbers ([`Timeline`]); the evaluation (`crate::eval`) fills them in.

use crate::error::{RelayError, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// What the chart of one stream shows; all times in seconds of stream time.
#[derive(Debug, Clone, Default)]
pub struct Timeline<'a> {
    /// The stream id (the file is `<id>.svg`).
    pub id: &'a str,
    /// Length of the stream.
    pub seconds: f64,
    /// (window end, messages per second, combined score) per window.
    pub windows: &'a [(f64, f64, f64)],
    /// Labelled hot-clip starts.
    pub label_points: &'a [f64],
    /// Labelled highlight intervals (start, end).
    pub label_spans: &'a [(f64, f64)],
    /// Where the reference z-score rule fired.
    pub rule_firings: Vec<f64>,
    /// The detections: (time, score, span its clip would hold).
    pub clips: Vec<(f64, f64, (f64, f64))>,
}

/// Write `<dir>/<id>.svg`; returns its path.
pub fn write_chart(dir: &Path, t: &Timeline<'_>) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| RelayError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(format!("{}.svg", t.id));
    draw(&path, t).map_err(|e| RelayError::Chart {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(path)
}

fn draw(path: &Path, s: &Timeline<'_>) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let minutes = (s.seconds / 60.0).max(1.0);
    let root = SVGBackend::new(path, (1600, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(320);
    let max_rate = s.windows.iter().map(|w| w.1).fold(1.0, f64::max);
    let max_score = s.windows.iter().map(|w| w.2).fold(1.0, f64::max);

    let mut rate = ChartBuilder::on(&top)
        .caption(
            format!("{}: messages per second (5 s windows)", s.id),
            ("sans-serif", 18),
        )
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..minutes, 0.0..max_rate * 1.05)?;
    rate.configure_mesh()
        .x_desc("minutes")
        .y_desc("msgs/s")
        .draw()?;
    rate.draw_series(LineSeries::new(
        s.windows.iter().map(|w| (w.0 / 60.0, w.1)),
        &BLUE,
    ))?;

    let mut score = ChartBuilder::on(&bottom)
        .caption(
            "combined score · red: clips (band: the span each holds) · green: labels · grey: z-score rule (20 s, z≥2)",
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..minutes, 0.0..max_score * 1.05)?;
    score
        .configure_mesh()
        .x_desc("minutes")
        .y_desc("score")
        .draw()?;
    score.draw_series(LineSeries::new(
        s.windows.iter().map(|w| (w.0 / 60.0, w.2)),
        &BLACK,
    ))?;

    let vline = |t: f64, top: f64| vec![(t / 60.0, 0.0), (t / 60.0, top)];
    let h = max_score * 1.05;
    for o in s.label_points {
        score.draw_series(LineSeries::new(vline(*o, h), GREEN.stroke_width(3)))?;
    }
    for (a, b) in s.label_spans {
        score.draw_series(std::iter::once(Rectangle::new(
            [(a / 60.0, 0.0), ((b / 60.0).max(a / 60.0 + 0.1), h)],
            GREEN.mix(0.35).filled(),
        )))?;
    }
    for t in &s.rule_firings {
        score.draw_series(std::iter::once(Circle::new(
            (t / 60.0, h * 0.03),
            3,
            RGBColor(150, 150, 150).filled(),
        )))?;
    }
    for &(t, clip_score, span) in &s.clips {
        score.draw_series(std::iter::once(Rectangle::new(
            [(span.0 / 60.0, h * 0.06), (span.1 / 60.0, h * 0.1)],
            RED.mix(0.3).filled(),
        )))?;
        score.draw_series(LineSeries::new(vline(t, clip_score), RED.stroke_width(2)))?;
        score.draw_series(std::iter::once(Circle::new(
            (t / 60.0, clip_score),
            4,
            RED.filled(),
        )))?;
    }
    root.present()?;
    Ok(())
}
