import CostModel
import Testing

@Suite struct ArticleTests {
  @Test func table1UnderTheArticlesConventionIsExact() {
    let rows = Article.table1UnderConvention()
    #expect(rows.map(\.active) == [7, 70, 1.75, 8.75, 2])
    #expect(rows.map(\.relativeCost) == [1, 10, 0.25, 1.25, 2.0 / 7])
    // Every quoted cost follows from its quoted active figure; every active figure but
    // DeepSeek-MoE's follows from total·k/E.
    #expect(rows.allSatisfy { $0.costMatches })
    #expect(rows.map(\.activeMatches) == [true, true, true, true, false])
  }

  @Test func referenceArchitecturesReachTheirStatedTotals() {
    #expect(ReferenceArchitectures.llama2_7B.totalParameters == 6_738_415_616)
    #expect(abs(Double(ReferenceArchitectures.llama2_70B.totalParameters) / 68.98e9 - 1) < 0.005)
    for (a, total) in [
      (ReferenceArchitectures.moe7B, 7e9), (ReferenceArchitectures.moe70B, 70e9),
      (ReferenceArchitectures.deepSeekMoE16BAsDescribed, 16e9),
    ] {
      #expect(abs(Double(a.totalParameters) / total - 1) < 0.015, "\(a.name): \(a.totalParameters)")
      #expect(a.moe!.expert.hidden % 64 == 0)
    }
    #expect(ReferenceArchitectures.deepSeekMoE16BAsDescribed.isMoELayer.first == false)
    #expect(ReferenceArchitectures.moe70B.moe!.routedExperts == 16)
  }

  @Test func table2IsQuotedAsPrinted() {
    #expect(Article.table2.map(\.reductionPercent) == [75, 40, 35, 80])
    #expect(Article.table2.map(\.active) == [2.8, 52, 65, 18])
  }
}
