//! The dependency graph of a workspace, on petgraph: what an asset needs (closure), who needs
//! an asset (reverse reachability with the chain), and call cycles.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::istr::IStr;
use crate::workspace::{Target, Workspace};

/// Asset-to-asset dependencies; node `i` is asset `i` of the workspace.
#[derive(Debug)]
pub struct DepGraph {
    graph: DiGraph<(), IStr>,
}

/// An asset that depends on another, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependent {
    /// The dependent asset (index).
    pub asset: usize,
    /// The chain from the dependent asset to the asset depended on, both included.
    pub via: Vec<usize>,
}

impl DepGraph {
    /// Builds the graph from the workspace's resolved references (dangling ones left out).
    pub fn build(ws: &Workspace) -> DepGraph {
        let mut graph = DiGraph::with_capacity(ws.assets.len(), ws.references.len());
        for _ in &ws.assets {
            graph.add_node(());
        }
        // One edge per (from, to, kind), the first of each in reference order. References
        // come grouped by `from`, so duplicates are found within each asset's small block.
        let mut block: Vec<(usize, &IStr, usize)> = Vec::new();
        for refs in ws.references.chunk_by(|a, b| a.from == b.from) {
            block.clear();
            block.extend(refs.iter().enumerate().filter_map(|(i, r)| match r.to {
                Target::Asset(to) => Some((to, &r.kind, i)),
                Target::Dangling(_) => None,
            }));
            block.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
            block.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
            block.sort_unstable_by_key(|e| e.2);
            for &(to, kind, i) in &block {
                graph.add_edge(NodeIndex::new(refs[i].from), NodeIndex::new(to), kind.clone());
            }
        }
        DepGraph { graph }
    }

    /// Edges as `(from, to, kind)`, in insertion order.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize, &str)> {
        self.graph
            .edge_references()
            .map(|e| (e.source().index(), e.target().index(), e.weight().as_str()))
    }

    /// Everything the `roots` need, transitively, each with the root that first pulled it in
    /// (roots are tried in order; roots themselves are not listed).
    pub fn closure(&self, roots: &[usize]) -> Vec<(usize, usize)> {
        let mut owner: Vec<Option<usize>> = vec![None; self.graph.node_count()];
        for &r in roots {
            owner[r] = Some(r);
        }
        let mut out = Vec::new();
        for &root in roots {
            let mut queue = VecDeque::from([root]);
            while let Some(n) = queue.pop_front() {
                for next in self
                    .graph
                    .neighbors_directed(NodeIndex::new(n), Direction::Outgoing)
                {
                    let i = next.index();
                    if owner[i].is_none() {
                        owner[i] = Some(root);
                        out.push((i, root));
                        queue.push_back(i);
                    }
                }
            }
        }
        out
    }

    /// Every asset that depends on any of `targets`, directly or through a chain, with the
    /// shortest chain. Targets themselves are not listed.
    pub fn dependents(&self, targets: &[usize]) -> Vec<Dependent> {
        let n = self.graph.node_count();
        let targets: Vec<usize> = targets.iter().copied().filter(|&t| t < n).collect();
        dependents_by(&targets, |node| {
            Ok::<_, std::convert::Infallible>(self.incoming(node))
        })
        .unwrap_or_else(|e| match e {})
    }

    /// The assets that reference `node` directly, in the order the search visits them (the
    /// most recently added edge first, as petgraph keeps them; the production index stores
    /// this order so that its answers are the same).
    pub fn incoming(&self, node: usize) -> Vec<usize> {
        self.graph
            .neighbors_directed(NodeIndex::new(node), Direction::Incoming)
            .map(|i| i.index())
            .collect()
    }

    /// Dependency cycles, each as the path `a → b → ... → a` (first node repeated at the end),
    /// starting at its smallest asset index; sorted.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let start = match scc.iter().min() {
                Some(s) => *s,
                None => continue,
            };
            if scc.len() == 1 && !self.graph.contains_edge(start, start) {
                continue;
            }
            let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
            // Shortest path from start back to start inside the component.
            let mut parent: std::collections::HashMap<NodeIndex, NodeIndex> = Default::default();
            let mut queue = VecDeque::from([start]);
            let mut end = None;
            'bfs: while let Some(node) = queue.pop_front() {
                let mut next: Vec<NodeIndex> = self
                    .graph
                    .neighbors(node)
                    .filter(|x| members.contains(x))
                    .collect();
                next.sort();
                for x in next {
                    if x == start {
                        end = Some(node);
                        break 'bfs;
                    }
                    if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(x) {
                        e.insert(node);
                        queue.push_back(x);
                    }
                }
            }
            let Some(mut cur) = end else { continue };
            let mut back = Vec::new();
            while cur != start {
                back.push(cur.index());
                cur = parent[&cur];
            }
            back.reverse();
            let mut path = Vec::with_capacity(back.len() + 2);
            path.push(start.index());
            path.extend(back);
            path.push(start.index());
            out.push(path);
        }
        out.sort();
        out
    }
}

/// The breadth-first search behind [`DepGraph::dependents`], over any store of incoming edges:
/// `incoming(node)` lists the assets that reference `node`, in visiting order. Work and
/// memory grow with the dependents found, not with the number of assets (the production index
/// answers `impact` with it, reading only the rows it visits).
pub(crate) fn dependents_by<E>(
    targets: &[usize],
    mut incoming: impl FnMut(usize) -> Result<Vec<usize>, E>,
) -> Result<Vec<Dependent>, E> {
    // foldhash, not SipHash: the keys are indexes, and a connector's dependents can be most
    // of a 100k-recipe workspace.
    let mut parent: hashbrown::HashMap<usize, usize> = hashbrown::HashMap::new();
    let mut is_target: hashbrown::HashSet<usize> = hashbrown::HashSet::new();
    let mut queue = VecDeque::new();
    for &t in targets {
        if is_target.insert(t) {
            queue.push_back(t);
        }
    }
    let mut order = Vec::new();
    while let Some(node) = queue.pop_front() {
        for i in incoming(node)? {
            if !is_target.contains(&i) && !parent.contains_key(&i) {
                parent.insert(i, node);
                order.push(i);
                queue.push_back(i);
            }
        }
    }
    Ok(order
        .into_iter()
        .map(|asset| {
            let mut via = vec![asset];
            let mut cur = asset;
            while let Some(&p) = parent.get(&cur) {
                via.push(p);
                if is_target.contains(&p) {
                    break;
                }
                cur = p;
            }
            Dependent { asset, via }
        })
        .collect())
}
