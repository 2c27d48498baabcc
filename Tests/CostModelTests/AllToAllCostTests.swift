import Testing

@testable import CostModel

@Suite struct AllToAllCostTests {
  /// Two nodes of two ranks, 1 MB per rank: 3 messages, 1/4 to the node's other rank over
  /// shared memory, 1/2 through the link the node's two ranks share.
  @Test func handComputedExchange() {
    let model = AllToAllCost(latency: 1e-5, localBandwidth: 1e10, linkBandwidth: 1e9)
    let seconds = model.seconds(bytesPerRank: 1e6, nodes: 2, ranksPerNode: 2)
    #expect(abs(seconds - (3e-5 + 0.25e6 / 1e10 + 2 * 0.5e6 / 1e9)) < 1e-15)
    #expect(model.seconds(bytesPerRank: 1e6, nodes: 1, ranksPerNode: 1) == 0)
  }

  @Test func fitRecoversTheConstants() throws {
    let truth = AllToAllCost(latency: 4e-6, localBandwidth: 2.5e9, linkBandwidth: 1e9)
    let small = (bytes: 4096.0, seconds: truth.seconds(bytesPerRank: 4096, nodes: 1, ranksPerNode: 4))
    let large = (bytes: 8e6, seconds: truth.seconds(bytesPerRank: 8e6, nodes: 1, ranksPerNode: 4))
    let fitted = try #require(AllToAllCost.fitted(ranks: 4, small: small, large: large, linkBandwidth: 1e9))
    #expect(abs(fitted.latency - 4e-6) < 1e-12)
    #expect(abs(fitted.localBandwidth / 2.5e9 - 1) < 1e-9)
    #expect(AllToAllCost.fitted(ranks: 4, small: large, large: small, linkBandwidth: 1e9) == nil)
  }

  @Test func exchangeBytesOfALayer() {
    #expect(
      AllToAllCost.exchangeBytes(tokensPerRank: 4096, k: 2, dimensions: 6144, bytesPerElement: 2)
        == 100_663_296)
  }
}
