//! Grouping faces by person: agglomerative clustering of face descriptors.
//!
//! Average linkage (UPGMA): two groups join when the mean distance between
//! their members is within the threshold, so one odd photo neither splits a
//! person in two nor chains two people together the way single linkage would.
//! The merges are found with the nearest-neighbour chain algorithm in O(n²)
//! time and memory (a 2,000-face shoot: a 16 MB distance matrix).

use super::descriptor::FaceDescriptor;

/// Group id for each descriptor: equal ids are the same person.
///
/// Groups are numbered 0, 1, 2... in the order of their first member, so the
/// result depends only on the descriptors and their order.
pub fn cluster(descriptors: &[FaceDescriptor], max_distance: f32) -> Vec<usize> {
    let count = descriptors.len();
    let mut distances = vec![0.0f32; count * count];
    for i in 0..count {
        for j in i + 1..count {
            let distance = descriptors[i].distance(&descriptors[j]);
            distances[i * count + j] = distance;
            distances[j * count + i] = distance;
        }
    }
    let merges = average_linkage_merges(count, distances);
    let mut groups = UnionFind::new(count);
    for merge in merges {
        if merge.height <= max_distance {
            groups.union(merge.a, merge.b);
        }
    }
    number_by_first_member(&mut groups, count)
}

/// Two clusters, each named by one of its members, joined at `height`.
#[derive(Debug, Clone, Copy)]
struct Merge {
    a: usize,
    b: usize,
    height: f32,
}

/// Every merge of the average-linkage dendrogram (nearest-neighbour chain).
///
/// `distances` is the full `count` x `count` matrix; it is updated in place
/// with the Lance-Williams rule, the merged cluster keeping the lower index.
fn average_linkage_merges(count: usize, mut distances: Vec<f32>) -> Vec<Merge> {
    let mut active = vec![true; count];
    let mut sizes = vec![1usize; count];
    // Height each cluster was formed at, so a rounding wobble cannot make a
    // parent lower than its children.
    let mut formed_at = vec![0.0f32; count];
    let mut chain: Vec<usize> = Vec::with_capacity(count);
    let mut merges = Vec::with_capacity(count.saturating_sub(1));
    while merges.len() + 1 < count {
        if chain.is_empty() {
            let first = active.iter().position(|&alive| alive);
            chain.extend(first);
        }
        let Some(&current) = chain.last() else { break };
        let previous = chain.len().checked_sub(2).map(|at| chain[at]);
        let row = &distances[current * count..(current + 1) * count];
        // Ties go to the previous link, which guarantees the chain ends.
        let mut nearest = previous.map(|p| (p, row[p]));
        for (other, &distance) in row.iter().enumerate() {
            let closer = nearest.is_none_or(|(_, best)| distance < best);
            if other != current && active[other] && closer {
                nearest = Some((other, distance));
            }
        }
        let Some((nearest, distance)) = nearest else {
            break;
        };
        if Some(nearest) != previous {
            chain.push(nearest);
            continue;
        }
        chain.truncate(chain.len() - 2);
        let (keep, drop) = (current.min(nearest), current.max(nearest));
        let height = distance.max(formed_at[keep]).max(formed_at[drop]);
        merges.push(Merge {
            a: keep,
            b: drop,
            height,
        });
        let (size_keep, size_drop) = (sizes[keep] as f32, sizes[drop] as f32);
        for other in 0..count {
            if active[other] && other != keep && other != drop {
                let joined = (size_keep * distances[keep * count + other]
                    + size_drop * distances[drop * count + other])
                    / (size_keep + size_drop);
                distances[keep * count + other] = joined;
                distances[other * count + keep] = joined;
            }
        }
        active[drop] = false;
        sizes[keep] += sizes[drop];
        formed_at[keep] = height;
    }
    merges
}

/// Disjoint sets over `0..n`, with path halving.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(count: usize) -> Self {
        UnionFind {
            parent: (0..count).collect(),
        }
    }

    fn find(&mut self, mut item: usize) -> usize {
        while self.parent[item] != item {
            self.parent[item] = self.parent[self.parent[item]];
            item = self.parent[item];
        }
        item
    }

    fn union(&mut self, a: usize, b: usize) {
        let (root_a, root_b) = (self.find(a), self.find(b));
        if root_a != root_b {
            self.parent[root_a.max(root_b)] = root_a.min(root_b);
        }
    }
}

fn number_by_first_member(groups: &mut UnionFind, count: usize) -> Vec<usize> {
    let mut ids: Vec<Option<usize>> = vec![None; count];
    let mut next = 0;
    (0..count)
        .map(|item| {
            let root = groups.find(item);
            *ids[root].get_or_insert_with(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faces::descriptor::DESCRIPTOR_LEN;

    /// A descriptor at `x` on the first axis.
    fn at(x: f32) -> FaceDescriptor {
        let mut values = [0.0; DESCRIPTOR_LEN];
        values[0] = x;
        FaceDescriptor(values)
    }

    #[test]
    fn empty_and_single() {
        assert!(cluster(&[], 0.5).is_empty());
        assert_eq!(cluster(&[at(1.0)], 0.5), vec![0]);
    }

    #[test]
    fn two_tight_groups_split_at_the_threshold() {
        let faces = [at(0.0), at(5.0), at(0.2), at(5.3), at(0.1)];
        assert_eq!(cluster(&faces, 0.5), vec![0, 1, 0, 1, 0]);
        // A threshold above the gap between the groups joins everything.
        assert_eq!(cluster(&faces, 6.0), vec![0; 5]);
        // A threshold below every distance keeps every face apart.
        assert_eq!(cluster(&faces, 0.05), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn average_linkage_does_not_chain() {
        // Evenly spaced points 0.4 apart: single linkage would join all of them
        // at 0.45; average linkage stops when the mean distance passes it.
        let faces: Vec<FaceDescriptor> = (0..6).map(|i| at(i as f32 * 0.4)).collect();
        let groups = cluster(&faces, 0.45);
        let distinct = groups
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        assert!(distinct >= 3, "{groups:?}");
        // Groups are contiguous runs along the line.
        assert!(
            groups.windows(2).all(|pair| pair[1] >= pair[0]),
            "{groups:?}"
        );
    }

    #[test]
    fn merge_heights_match_brute_force_average_linkage() {
        // Distances between clusters {0,1} and {2}: mean of 3.0 and 2.0 = 2.5.
        let faces = [at(0.0), at(1.0), at(3.0)];
        let count = faces.len();
        let mut distances = vec![0.0; count * count];
        for i in 0..count {
            for j in 0..count {
                distances[i * count + j] = faces[i].distance(&faces[j]);
            }
        }
        let mut merges = average_linkage_merges(count, distances);
        merges.sort_by(|a, b| a.height.total_cmp(&b.height));
        assert_eq!(merges.len(), 2);
        assert_eq!((merges[0].a, merges[0].b, merges[0].height), (0, 1, 1.0));
        assert_eq!(merges[1].height, 2.5);
    }
}
