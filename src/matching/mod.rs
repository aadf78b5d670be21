//! Judging a listing against banned records: what a pair shares ([`features`]), the typed
//! evidence behind a match ([`evidence`]), how the numbers of two titles agree ([`surface`]), fusion and decision ([`score`]), term rules
//! ([`terms`]), identifier roles ([`roles`]), variant words ([`variants`]), the learned trees ([`trees`]), the one judging
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
pub mod variants;

/// `f` over `items`, results in the items' order: on the rayon pool when `parallel` (a listing
/// with photos, whose candidates can cost a verification each), else on this thread. A rayon
/// call from outside the pool hands the work over and waits for it, which costs more than a
/// text-only check's whole candidate loop, so text-only checks make none.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    parallel: bool,
    f: impl Fn(usize, &T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    if parallel {
        items.par_iter().enumerate().map(|(i, t)| f(i, t)).collect()
    } else {
        items.iter().enumerate().map(|(i, t)| f(i, t)).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_in_order_keeps_the_order_on_the_pool_and_off_it() {
        let items: Vec<u64> = (0..2000).collect();
        let f = |i: usize, x: &u64| (i, x * x);
        let on_pool = super::map_in_order(&items, true, f);
        assert_eq!(on_pool, super::map_in_order(&items, false, f));
        assert!(
            on_pool
                .iter()
                .enumerate()
                .all(|(i, &(j, y))| i == j && y == (i * i) as u64)
        );
    }
}
