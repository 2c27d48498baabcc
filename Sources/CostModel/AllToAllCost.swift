/// The α–β (Hockney) cost of the all-to-all exchanges of expert parallelism.
///
/// `P = nodes · ranksPerNode` ranks each send `S` bytes spread evenly over all ranks (the
/// share for itself stays put): `(P − 1)` messages of latency `α`, the share for the other
/// ranks of its node over shared memory at `β_local` per rank, and the share for other
/// nodes through the node's link at `β_link`, which the node's ranks share:
///
/// `t = (P − 1)·α + S·(r − 1)/P ÷ β_local + r · S·(P − r)/P ÷ β_link`  (r = ranksPerNode).
///
/// A MoE layer's forward pass makes two of them (dispatch and combine) of
/// `S = T_p · k · d · bytes` each; the backward pass two more of the same size.
///
/// ### References
/// Hockney 1994, "The communication challenge for MPP" (the α–β model); Lepikhin et al.
/// 2020, GShard (arXiv 2006.16668), and Rajbhandari et al. 2022, DeepSpeed-MoE (arXiv
/// 2201.05596), for expert parallelism's two all-to-alls.
public struct AllToAllCost: Sendable, Equatable, Codable {
  /// `α`: seconds per message.
  public var latency: Double
  /// `β_local`: bytes per second a rank moves to the other ranks of its node.
  public var localBandwidth: Double
  /// `β_link`: bytes per second between one node and the others.
  public var linkBandwidth: Double

  /// A model from its three constants.
  public init(latency: Double, localBandwidth: Double, linkBandwidth: Double) {
    self.latency = latency
    self.localBandwidth = localBandwidth
    self.linkBandwidth = linkBandwidth
  }

  /// Seconds for one all-to-all in which every rank sends `bytesPerRank` bytes.
  public func seconds(bytesPerRank: Double, nodes: Int, ranksPerNode: Int) -> Double {
    let p = Double(nodes * ranksPerNode)
    let r = Double(ranksPerNode)
    let local = bytesPerRank * (r - 1) / p
    let remote = bytesPerRank * (p - r) / p
    return (p - 1) * latency + local / localBandwidth + (remote > 0 ? r * remote / linkBandwidth : 0)
  }

  /// `S = T_p · k · d · bytes`: what one rank sends in one exchange of a MoE layer.
  public static func exchangeBytes(tokensPerRank: Int, k: Int, dimensions: Int, bytesPerElement: Int)
    -> Double
  {
    Double(tokensPerRank) * Double(k) * Double(dimensions) * Double(bytesPerElement)
  }

  /// The `α` and `β_local` that fit two one-node measurements — `small` and `large`
  /// seconds for exchanges of `smallBytes` and `largeBytes` per rank over `ranks` ranks —
  /// exactly; the link keeps `linkBandwidth`. `nil` when the measurements cannot be fitted
  /// (the larger exchange was not slower).
  public static func fitted(
    ranks: Int, small: (bytes: Double, seconds: Double), large: (bytes: Double, seconds: Double),
    linkBandwidth: Double
  ) -> AllToAllCost? {
    let p = Double(ranks)
    guard ranks >= 2, large.bytes > small.bytes, large.seconds > small.seconds else { return nil }
    // t = (P − 1)·α + S·(P − 1)/P ÷ β on one node.
    let perByte = (large.seconds - small.seconds) / ((large.bytes - small.bytes) * (p - 1) / p)
    let latency = Swift.max(0, (small.seconds - small.bytes * (p - 1) / p * perByte) / (p - 1))
    return AllToAllCost(latency: latency, localBandwidth: 1 / perByte, linkBandwidth: linkBandwidth)
  }
}
