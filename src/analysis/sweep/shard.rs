//! Shards: a sweep's tasks dealt round-robin to `count` independent
//! processes (cluster jobs or MPI ranks), so each does a similar mix.

use std::str::FromStr;

use crate::error::{Error, Result};

/// Shard `index` of `count` (1-based): the tasks `t` with
/// `t % count == index - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, in `1..=count`.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// The whole sweep in one process.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` of `count`; rejects `index` outside `1..=count`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count >= 1 && (1..=count).contains(&index) {
            Ok(Shard { index, count })
        } else {
            Err(Error::invalid("shard", format!("{index}/{count}"), "I/N with 1 <= I <= N"))
        }
    }

    /// Whether task `task` (a canonical index) is this shard's.
    pub fn owns(&self, task: usize) -> bool {
        task % self.count == self.index - 1
    }

    /// This shard's tasks among `total`, in canonical order.
    pub fn tasks(&self, total: usize) -> impl Iterator<Item = usize> + '_ {
        (0..total).filter(|t| self.owns(*t))
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// Reads `I/N`, e.g. `2/8`.
    fn from_str(s: &str) -> Result<Shard> {
        let parsed = s.split_once('/').and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
        match parsed {
            Some((i, n)) => {
                Shard::new(i, n).map_err(|_| Error::invalid("shard", format!("`{s}`"), "I/N with 1 <= I <= N"))
            }
            None => Err(Error::invalid("shard", format!("`{s}`"), "I/N with 1 <= I <= N")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_tasks() {
        let n = 3;
        let mut seen: Vec<usize> =
            (1..=n).flat_map(|i| Shard::new(i, n).unwrap().tasks(10).collect::<Vec<_>>()).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard { index: 2, count: 3 });
        for bad in ["4/3", "0/3", "1/0", "x", "1/", "/2", "-1/2"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.starts_with("shard: ") && e.contains("1 <= I <= N"), "{bad}: {e}");
        }
    }
}
