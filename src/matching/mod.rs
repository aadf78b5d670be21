//! Judging a listing against banned records: what a pair shares ([`features`]), the typed
//! evidence behind a match ([`evidence`]), how the numbers of two titles agree ([`surface`]), fusion and decision ([`score`]), term rules
//! ([`terms`]), identifier roles ([`roles`]), the learned trees ([`trees`]), the one judging
//! stage ([`matcher`]) and fitting the logistic weights ([`calibrate`]).
//!
//! Nothing here reads a file or an index: records and listings come prepared.

pub mod attrs;
pub mod calibrate;
pub mod evidence;
pub mod features;
pub mod matcher;
pub mod roles;
pub mod score;
pub mod surface;
pub mod terms;
pub mod trees;
