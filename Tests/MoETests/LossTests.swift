import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// Every loss against a case worked out by hand from its formula, and its gradient against
/// central differences.
@Suite struct LossTests {
  @Test func meanSquaredError() {
    // ((1 − 0)² + (2 − 0)²) / 2 = 2.5; gradient 2(y − t)/2 = [1, 2].
    let (loss, gradient) = MeanSquaredError.evaluate(Matrix<Double>([[1, 2]]), target: Matrix([[0, 0]]))
    #expect(loss == 2.5)
    #expect(gradient.elements == [1, 2])
  }

  @Test func softmaxCrossEntropy() {
    // Logits [0, ln 3]: softmax [1/4, 3/4]; label 1 → loss −ln(3/4); gradient [1/4, −1/4].
    let (loss, gradient) = SoftmaxCrossEntropy.evaluate(logits: Matrix<Double>([[0, log(3)]]), labels: [1])
    #expect(abs(loss + log(0.75)) < 1e-15)
    #expect(gradient.isApproximatelyEqual(to: Matrix([[0.25, -0.25]]), relativeTolerance: 1e-14))
    // Stable at huge logits.
    let huge = SoftmaxCrossEntropy.evaluate(logits: Matrix<Float>([[1e4, 0]]), labels: [1])
    #expect(huge.loss == 1e4)
  }

  static func decision(_ p: [[Double]], experts: [[Int]]) -> RoutingDecision<Double> {
    let probabilities = Matrix(p)
    var assignments: [ExpertAssignment<Double>] = []
    for (t, chosen) in experts.enumerated() {
      for (rank, e) in chosen.enumerated() {
        assignments.append(ExpertAssignment(token: t, expert: e, weight: p[t][e], choice: rank))
      }
    }
    return RoutingDecision(
      tokenCount: p.count, expertCount: p[0].count, assignments: assignments,
      logits: Matrix(p.map { $0.map { log($0) } }), probabilities: probabilities)
  }

  @Test func switchLoadBalancingLoss() {
    // Both tokens to expert 0: f = [1, 0]; P = [0.7, 0.3]; L = α·2·(1·0.7) = 1.4α;
    // ∂L/∂p_{t,i} = α·2·fᵢ/2 = [α, 0].
    let d = Self.decision([[0.8, 0.2], [0.6, 0.4]], experts: [[0], [0]])
    let (loss, gradient) = LoadBalancingLoss(coefficient: 0.1).evaluate(d)
    #expect(abs(loss - 0.14) < 1e-15)
    #expect(gradient.isApproximatelyEqual(to: Matrix([[0.1, 0], [0.1, 0]]), relativeTolerance: 1e-14))
    // Perfect balance gives α.
    let balanced = Self.decision([[0.5, 0.5], [0.5, 0.5]], experts: [[0], [1]])
    #expect(abs(LoadBalancingLoss(coefficient: 0.1).evaluate(balanced).loss - 0.1) < 1e-15)
  }

  @Test func routerZLoss() {
    // Logits [0, 0]: lse = ln 2; L = β (ln 2)²; ∂L/∂z = β·2·ln 2·[½, ½].
    let d = Self.decision([[0.5, 0.5]], experts: [[0]])
    var zero = d
    zero.logits = Matrix([[0, 0]])
    let (loss, gradient) = RouterZLoss(coefficient: 0.01).evaluate(zero)
    #expect(abs(loss - 0.01 * log(2) * log(2)) < 1e-15)
    #expect(
      gradient.isApproximatelyEqual(to: Matrix([[0.01 * log(2), 0.01 * log(2)]]), relativeTolerance: 1e-14))
    let numeric = GradientCheck.numericalGradient(at: Matrix([[0.3, -1.2]])) { logits in
      var probe = zero
      probe.logits = logits
      return RouterZLoss(coefficient: 0.01).evaluate(probe).loss
    }
    var at = zero
    at.logits = Matrix([[0.3, -1.2]])
    #expect(
      GradientCheck.relativeError(RouterZLoss(coefficient: 0.01).evaluate(at).logitGradient, numeric) < 1e-8)
  }

  @Test func sequenceWiseBalanceLoss() {
    // One sequence of 2 tokens, 2 experts, k = 1, both tokens to expert 0:
    // f = [2/(1·2)·2, 0] = [2, 0]; rows already sum to 1, P = [0.65, 0.35]; L = α·2·0.65.
    let d = Self.decision([[0.8, 0.2], [0.5, 0.5]], experts: [[0], [0]])
    let loss = SequenceBalanceLoss(coefficient: 0.1).evaluate(d, sequenceLength: 2, k: 1)
    #expect(abs(loss.loss - 0.13) < 1e-15)
    // Two sequences of one token each are averaged.
    let split = SequenceBalanceLoss(coefficient: 0.1).evaluate(d, sequenceLength: 1, k: 1)
    #expect(abs(split.loss - 0.1 * (2 * 0.8 + 2 * 0.5) / 2) < 1e-15)
    // The gradient through the normalisation, against central differences on unnormalised scores.
    let scores = Matrix<Double>([[0.9, 0.3], [0.2, 0.6]])
    func evaluate(_ s: Matrix<Double>) -> (Double, Matrix<Double>) {
      var probe = d
      probe.probabilities = s
      let r = SequenceBalanceLoss(coefficient: 0.1).evaluate(probe, sequenceLength: 2, k: 1)
      return (r.loss, r.probabilityGradient)
    }
    let numeric = GradientCheck.numericalGradient(at: scores) { evaluate($0).0 }
    #expect(GradientCheck.relativeError(evaluate(scores).1, numeric) < 1e-8)
  }

  @Test func auxiliaryLossFreeBiasMovesTowardsBalance() {
    // Loads [5, 1, 3], mean 3: the overloaded expert's bias falls, the underloaded one's rises.
    var bias = Matrix<Double>([[0, 0, 0]])
    AuxiliaryLossFreeBalancer(updateRate: 0.01).update(&bias, loads: [5, 1, 3])
    #expect(bias.elements == [-0.01, 0.01, 0])
  }

  /// A MoE block with a biased router gets the same update; a softmax router and a dense
  /// block are left as they were.
  @Test func auxiliaryLossFreeBiasReachesABlocksRouter() {
    var g = Xoshiro256StarStar(seed: 4)
    let balancer = AuxiliaryLossFreeBalancer(updateRate: 0.01)
    func block(_ router: any Router<Double>) -> FeedForwardBlock<Double> {
      FeedForwardBlock(
        feedForwardNorm: Normalization(rmsDimensions: 4),
        feedForward: .moe(MoELayer(dimensions: 4, hiddenDimensions: 6, router: router, using: &g)))
    }
    var biased = block(GroupLimitedRouter(gate: .routerGate(dimensions: 4, expertCount: 3, using: &g), k: 1))
    balancer.update(&biased, loads: [5, 1, 3])
    #expect((biased.moe!.router as! GroupLimitedRouter<Double>).selectionBias.elements == [-0.01, 0.01, 0])
    var plain = block(TopKSoftmaxRouter(dimensions: 4, expertCount: 3, k: 1, using: &g))
    let before = (plain.moe!.router as! TopKSoftmaxRouter<Double>).gate.weight.value
    balancer.update(&plain, loads: [5, 1, 3])
    #expect((plain.moe!.router as! TopKSoftmaxRouter<Double>).gate.weight.value == before)
    var dense = FeedForwardBlock<Double>(
      feedForwardNorm: Normalization(rmsDimensions: 4),
      feedForward: .dense(FeedForward(dimensions: 4, hiddenDimensions: 6, using: &g)))
    balancer.update(&dense, loads: [5, 1, 3])
    #expect(!dense.feedForward.isMoE)
  }
}

/// The balancing part of a training step, shared by the programs that train MoE models.
@Suite struct BalancingRegimenTests {
  /// Each MoE layer gets exactly the losses' own gradients and shows its loads to its
  /// detector; dense layers get none; the bias update moves the block's router bias.
  @Test func routerLossesAndBiasUpdatePerLayer() throws {
    var g = Xoshiro256StarStar(seed: 3)
    let layer = MoELayer<Double>(
      dimensions: 8, hiddenDimensions: 6,
      router: GroupLimitedRouter(
        gate: Linear(inputDimensions: 8, outputDimensions: 4, bias: false, using: &g), k: 2,
        selectionBias: Matrix(rows: 1, columns: 4)),
      using: &g)
    var block = FeedForwardBlock(
      feedForwardNorm: Normalization<Double>(rmsDimensions: 8), feedForward: .moe(layer))
    let x = Matrix<Double>.normal(rows: 12, columns: 8, using: &g)
    var context = RoutingContext(isTraining: true)
    let result = layer.forwardForTraining(x, context: &context).result
    let (auxiliary, zLoss) = (LoadBalancingLoss(coefficient: 0.01), RouterZLoss(coefficient: 0.001))
    var regimen = BalancingRegimen(
      layers: 2, auxiliary: auxiliary, zLoss: zLoss, biasUpdate: AuxiliaryLossFreeBalancer(updateRate: 0.1))
    let losses = regimen.routerLosses(for: [nil, result])
    #expect(losses[0] == nil)
    let gradient = try #require(losses[1])
    #expect(gradient.probabilities == auxiliary.evaluate(result.decision).probabilityGradient)
    #expect(gradient.logits == zLoss.evaluate(result.decision).logitGradient)
    var observed = CollapseDetector()
    observed.observe(loads: result.stats.tokensPerExpert)
    #expect(regimen.detectors == [CollapseDetector(), observed] && !regimen.collapsed)
    func bias() -> Matrix<Double>? { (block.moe!.router as? GroupLimitedRouter<Double>)?.selectionBias }
    #expect(Set(result.stats.tokensPerExpert).count > 1, "uneven loads, so the bias must move")
    let before = bias()
    regimen.updateBias(of: &block, result: result)
    #expect(bias() != nil && bias() != before)
  }
}
