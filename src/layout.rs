//! A layered (Sugiyama-style) layout of a small directed graph, for the SVG graphs of the HTML
//! reports.
//!
//! Steps: cycles are broken by reversing the back edges of a depth-first search; each node's
//! layer is the longest path from it to a sink (so every changed asset, a sink of the affected
//! part, sits in layer 0 and each dependent to its right); edges that span several layers get
//! virtual nodes so that they take part in the ordering; nodes are ordered within their layer
//! by repeated barycenter sweeps, keeping the order with the fewest crossings; coordinates put
//! each layer in a column and its nodes one under the other.

/// Horizontal distance between two layers' columns.
pub const COLUMN_WIDTH: f64 = 280.0;
/// Vertical distance between two nodes of a layer.
pub(crate) const ROW_HEIGHT: f64 = 30.0;
/// Space around the drawing.
pub(crate) const MARGIN: f64 = 20.0;

/// A computed layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Per node: its layer (column, 0 = sinks).
    pub layer: Vec<usize>,
    /// Per node: its centre.
    pub position: Vec<(f64, f64)>,
    /// Per edge of the input, in order: the polyline from source to target (through the
    /// virtual nodes of a long edge).
    pub routes: Vec<Vec<(f64, f64)>>,
    /// Width and height of the drawing.
    pub size: (f64, f64),
    /// Edge crossings left (between adjacent layers).
    pub crossings: usize,
}

/// Lays out `n` nodes with directed `edges` (`from` depends on `to`; self-loops ignored).
pub fn layered(n: usize, edges: &[(usize, usize)]) -> Layout {
    let edges_ok: Vec<(usize, usize)> = edges
        .iter()
        .copied()
        .filter(|&(a, b)| a < n && b < n && a != b)
        .collect();
    // 1. Acyclic: reverse back edges.
    let back = back_edges(n, &edges_ok);
    let dag: Vec<(usize, usize)> = edges_ok
        .iter()
        .map(|&(a, b)| if back.contains(&(a, b)) { (b, a) } else { (a, b) })
        .collect();
    // 2. Layers.
    let layer = longest_path_layers(n, &dag);
    let layers_count = layer.iter().copied().max().map_or(0, |m| m + 1);
    // 3. Virtual nodes for long edges.
    let chains = Chains::new(n, &dag, &layer);
    // 4. Barycenter sweeps.
    let (order, best_crossings) = order_layers(&chains, layers_count);
    // 5. Coordinates, and each edge's route through its chain.
    let (xy, size) = coordinates(&order, chains.total, layers_count);
    let mut routes: Vec<Vec<(f64, f64)>> = Vec::with_capacity(edges.len());
    let mut k = 0;
    for &(a, b) in edges {
        if a < n && b < n && a != b {
            let mut pts: Vec<(f64, f64)> = chains.chains[k].iter().map(|&v| xy[v]).collect();
            if back.contains(&edges_ok[k]) {
                pts.reverse();
            }
            routes.push(pts);
            k += 1;
        } else {
            routes.push(Vec::new());
        }
    }
    Layout {
        layer,
        position: xy[..n].to_vec(),
        routes,
        size,
        crossings: best_crossings,
    }
}

/// The back edges an iterative depth-first search finds (reversing them makes the graph acyclic).
fn back_edges(n: usize, edges: &[(usize, usize)]) -> std::collections::HashSet<(usize, usize)> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        out[a].push(b);
    }
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut back: std::collections::HashSet<(usize, usize)> = Default::default();
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(top) = stack.last_mut() {
            let (v, i) = *top;
            if i < out[v].len() {
                let w = out[v][i];
                top.1 += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        back.insert((v, w));
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Each node's layer: its longest path to a sink, by a reverse topological order (Kahn on
/// out-degree).
fn longest_path_layers(n: usize, dag: &[(usize, usize)]) -> Vec<usize> {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in dag {
        succ[a].push(b);
        pred[b].push(a);
    }
    let mut remaining: Vec<usize> = succ.iter().map(Vec::len).collect();
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| remaining[v] == 0).collect();
    while let Some(v) = queue.pop() {
        for &p in &pred[v] {
            layer[p] = layer[p].max(layer[v] + 1);
            remaining[p] -= 1;
            if remaining[p] == 0 {
                queue.push(p);
            }
        }
    }
    layer
}

/// The acyclic graph with a virtual node wherever an edge spans more than one layer.
struct Chains {
    /// Real and virtual nodes.
    total: usize,
    /// Each node's layer.
    node_layer: Vec<usize>,
    /// `chains[e]`: the nodes edge `e` passes through, from its source to its target.
    chains: Vec<Vec<usize>>,
    /// Neighbours one layer higher.
    up: Vec<Vec<usize>>,
    /// Neighbours one layer lower.
    down: Vec<Vec<usize>>,
}

impl Chains {
    fn new(n: usize, dag: &[(usize, usize)], layer: &[usize]) -> Chains {
        let mut total = n;
        let mut node_layer = layer.to_vec();
        let mut chains: Vec<Vec<usize>> = Vec::with_capacity(dag.len());
        for &(a, b) in dag {
            let mut chain = vec![a];
            let mut l = layer[a];
            while l > layer[b] + 1 {
                l -= 1;
                node_layer.push(l);
                chain.push(total);
                total += 1;
            }
            chain.push(b);
            chains.push(chain);
        }
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
        for chain in &chains {
            for w in chain.windows(2) {
                down[w[0]].push(w[1]);
                up[w[1]].push(w[0]);
            }
        }
        Chains {
            total,
            node_layer,
            chains,
            up,
            down,
        }
    }

    /// Edge crossings between adjacent layers in `order` (`pos`: each node's place in its layer).
    fn crossings(&self, order: &[Vec<usize>], pos: &[usize]) -> usize {
        let mut c = 0;
        for layer in order.iter().skip(1) {
            let mut segs: Vec<(usize, usize)> = Vec::new();
            for &v in layer {
                for &w in &self.down[v] {
                    segs.push((pos[v], pos[w]));
                }
            }
            segs.sort_unstable();
            // Inversions of the lower ends = crossings (quadratic only on small layers).
            if segs.len() <= 2000 {
                for i in 0..segs.len() {
                    for j in i + 1..segs.len() {
                        if segs[i].0 < segs[j].0 && segs[i].1 > segs[j].1 {
                            c += 1;
                        }
                    }
                }
            }
        }
        c
    }
}

fn index_positions(order: &[Vec<usize>], pos: &mut [usize]) {
    for layer in order {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
}

/// The order of the nodes in each layer after 8 barycenter sweeps (the one with the fewest
/// crossings), and its crossings.
fn order_layers(chains: &Chains, layers_count: usize) -> (Vec<Vec<usize>>, usize) {
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); layers_count];
    for (v, &l) in chains.node_layer.iter().enumerate() {
        order[l].push(v);
    }
    let mut pos = vec![0usize; chains.total];
    index_positions(&order, &mut pos);
    let mut best = order.clone();
    let mut best_crossings = chains.crossings(&order, &pos);
    for sweep in 0..8 {
        let upward = sweep % 2 == 0;
        let layer_ids: Vec<usize> = if upward {
            (1..layers_count).collect()
        } else {
            (0..layers_count.saturating_sub(1)).rev().collect()
        };
        for l in layer_ids {
            let neighbours = if upward { &chains.down } else { &chains.up };
            let mut keyed: Vec<(f64, usize, usize)> = order[l]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let ns = &neighbours[v];
                    let bary = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().map(|&w| pos[w] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (bary, i, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            order[l] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in order[l].iter().enumerate() {
                pos[v] = i;
            }
        }
        let c = chains.crossings(&order, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = order.clone();
        }
    }
    (best, best_crossings)
}

/// Each node's centre, columns from the left (layer 0: the changed assets), rows centred; and
/// the drawing's size.
fn coordinates(order: &[Vec<usize>], total: usize, layers_count: usize) -> (Vec<(f64, f64)>, (f64, f64)) {
    let tallest = order.iter().map(Vec::len).max().unwrap_or(0);
    let height = MARGIN * 2.0 + (tallest.max(1) as f64) * ROW_HEIGHT;
    let width = MARGIN * 2.0 + (layers_count.max(1) as f64 - 1.0) * COLUMN_WIDTH + COLUMN_WIDTH;
    let mut xy = vec![(0.0, 0.0); total];
    for (l, nodes) in order.iter().enumerate() {
        let offset = (tallest - nodes.len()) as f64 * ROW_HEIGHT / 2.0;
        for (i, &v) in nodes.iter().enumerate() {
            xy[v] = (
                MARGIN + COLUMN_WIDTH / 2.0 + l as f64 * COLUMN_WIDTH,
                MARGIN + ROW_HEIGHT / 2.0 + offset + i as f64 * ROW_HEIGHT,
            );
        }
    }
    (xy, (width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_are_left_and_dependents_right() {
        // 0 -> 1 -> 2, 3 -> 2
        let l = layered(4, &[(0, 1), (1, 2), (3, 2)]);
        assert_eq!(l.layer, vec![2, 1, 0, 1]);
        assert!(l.position[2].0 < l.position[1].0 && l.position[1].0 < l.position[0].0);
        assert_eq!(l.routes.len(), 3);
    }

    #[test]
    fn no_two_nodes_overlap_and_long_edges_are_routed() {
        let edges: Vec<(usize, usize)> = (1..40).map(|i| (i, i / 3)).chain([(39, 0)]).collect();
        let l = layered(40, &edges);
        let mut seen = std::collections::HashSet::new();
        for p in &l.position {
            assert!(seen.insert((p.0 as i64, p.1 as i64)), "overlap at {p:?}");
            assert!(p.0 >= 0.0 && p.0 <= l.size.0 && p.1 >= 0.0 && p.1 <= l.size.1);
        }
        // 39 -> 0 spans several layers: one point per layer crossed.
        let r = &l.routes[edges.len() - 1];
        assert_eq!(r.len(), l.layer[39] - l.layer[0] + 1);
    }

    #[test]
    fn cycles_do_not_hang_and_every_edge_gets_a_route() {
        let l = layered(3, &[(0, 1), (1, 2), (2, 0), (1, 1), (5, 0)]);
        assert_eq!(l.routes.len(), 5);
        assert!(l.routes[3].is_empty() && l.routes[4].is_empty());
        assert!(l.routes[..3].iter().all(|r| r.len() >= 2));
    }

    #[test]
    fn barycenter_ordering_removes_avoidable_crossings() {
        // Two independent chains given interleaved: a1->b1, a2->b2 with b listed crosswise.
        // nodes: 0=a1 1=a2 2=b2 3=b1 ; edges a1->b1, a2->b2.
        let l = layered(4, &[(0, 3), (1, 2)]);
        assert_eq!(l.crossings, 0);
    }

    #[test]
    fn five_hundred_nodes_lay_out_quickly() {
        let edges: Vec<(usize, usize)> = (10..500).map(|i| (i, i % 10)).collect();
        let start = std::time::Instant::now();
        let l = layered(500, &edges);
        assert!(start.elapsed().as_secs() < 5);
        assert_eq!(l.position.len(), 500);
    }
}
