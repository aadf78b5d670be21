//! Results for people and programs: JSON Lines, CSV and Parquet output, HTML cards with the
//! evidence marked, and the sweep report.

pub mod html;
pub mod output;
pub mod report;
